// The order status page, the link in every confirmation email (/status.html?id=<orderId>).
// It polls GET /api/orders/{id} once a second until the order is final, shows each status
// the order went through, and announces changes through a polite live region.
import { getJSON } from './api.js?v=c17234358b';
import { el, fill, money, param } from './dom.js?v=0156e72907';

const POLL_MS = 1000;
// Right after the 202 the order record may lag its event by a moment: allow a few misses.
const NOT_FOUND_GRACE = 10;

const $ = (id) => document.getElementById(id);

/** What each status means to the customer. tone drives colour and icon; failed lists the
 * progress steps that went wrong. */
const STATUS = {
  accepted: { title: 'Order received', text: 'We are charging your card now.', tone: 'pending', icon: '…', step: 1 },
  paid: { title: 'Payment received', text: 'Your card was charged. Sending your confirmation email…', tone: 'pending', icon: '…', step: 2 },
  declined: { title: 'Card declined', text: 'Your card was declined. Nothing was charged. Letting you know by email…', tone: 'bad', icon: '!', step: 2, failed: [2] },
  failed: { title: 'Payment failed', text: 'We could not process the payment. Nothing was charged. Letting you know by email…', tone: 'bad', icon: '!', step: 2, failed: [2] },
  confirmed: { title: 'Order confirmed', text: 'Payment received and your confirmation email is on its way. Enjoy your meal!', tone: 'ok', icon: '✓', step: 3 },
  notified_declined: { title: 'Card declined', text: 'Your card was declined and nothing was charged. We emailed you about it. You can order again with another card.', tone: 'bad', icon: '!', step: 3, failed: [2] },
  notified_failed: { title: 'Payment failed', text: 'We could not process the payment and nothing was charged. We emailed you about it. Please try again later.', tone: 'bad', icon: '!', step: 3, failed: [2] },
};

// A failed order can carry a refund: a charge was made under the order after all (the bank's
// answer was lost) and was given back. Then "nothing was charged" would be untrue.
const REFUNDED = {
  failed: 'We could not process the payment. A charge made on your card was refunded. Letting you know by email…',
  notified_failed: 'We could not process the payment, and the charge made on your card was refunded. We emailed you about it. Please try again later.',
};

// email_rejected: the order was decided (paid, declined or failed; its timeline says which),
// then the customer's mail server refused our email for good, so none will arrive.
const REJECTED = {
  paid: { title: 'Order placed, email refused', text: 'Payment received and your order is placed, but your mail server refused our confirmation email, so none will arrive. Keep this page as your confirmation.', tone: 'ok', icon: '✓' },
  declined: { title: 'Card declined', text: 'Your card was declined and nothing was charged. Your mail server refused our email about it, so none will arrive. You can order again with another card.', tone: 'bad', icon: '!' },
  failed: { title: 'Payment failed', text: 'We could not process the payment and nothing was charged. Your mail server refused our email about it, so none will arrive. Please try again later.', tone: 'bad', icon: '!' },
  refunded: { title: 'Payment failed', text: 'We could not process the payment, and the charge made on your card was refunded. Your mail server refused our email about it, so none will arrive. Please try again later.', tone: 'bad', icon: '!' },
  unknown: { title: 'Email refused', text: 'Your mail server refused our email about this order, so none will arrive. This page shows where your order stands.', tone: 'bad', icon: '!' },
};

/** info returns what to show for an order: its status's wording, adjusted for a refund and
 * for an email the mail server refused. */
function info(order) {
  const steps = Array.isArray(order.timeline) ? order.timeline : [];
  const refunded = order.refunded === true;
  if (order.status === 'email_rejected') {
    const outcome = ['paid', 'declined', 'failed'].find((s) => steps.some((st) => st.status === s)) || 'unknown';
    const r = REJECTED[outcome === 'failed' && refunded ? 'refunded' : outcome];
    return { ...r, step: 3, failed: outcome === 'paid' || outcome === 'unknown' ? [3] : [2, 3] };
  }
  const base = STATUS[order.status] || { title: order.status, text: '', tone: 'pending', icon: '…', step: 1 };
  return refunded && REFUNDED[order.status] ? { ...base, text: REFUNDED[order.status] } : base;
}

const STEP_LABEL = {
  accepted: 'Order received',
  paid: 'Payment received',
  declined: 'Card declined',
  failed: 'Payment failed',
  confirmed: 'Confirmation emailed',
  notified_declined: 'Decline emailed',
  notified_failed: 'Failure emailed',
  email_rejected: 'Email refused by your mail server',
};

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
let lastText = '';
let misses = 0;

function when(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : timeFormat.format(d);
}

function renderProgress(shown) {
  const steps = [$('step-received'), $('step-payment'), $('step-email')];
  steps.forEach((li, i) => {
    const n = i + 1;
    li.removeAttribute('aria-current');
    if ((shown.failed || []).includes(n)) li.className = 'failed';
    else if (n <= shown.step) li.className = 'done';
    else if (shown.tone === 'pending' && n === shown.step + 1) {
      li.className = 'current';
      li.setAttribute('aria-current', 'step');
    } else li.className = '';
  });
}

function renderActions(order, shown) {
  const actions = [];
  if (order.final && order.restaurantId && shown.tone === 'bad') {
    actions.push(el('a', { className: 'button', href: '/restaurant.html?id=' + encodeURIComponent(order.restaurantId), text: 'Try another card' }));
  }
  if (order.final) actions.push(el('a', { className: 'button button--quiet', href: '/', text: 'Back to all restaurants' }));
  fill($('actions'), ...actions);
}

function render(order) {
  const shown = info(order);
  const banner = $('banner');
  banner.className = `panel status-banner status--${shown.tone}`;
  banner.dataset.status = order.status;
  $('status-icon').textContent = shown.icon;
  $('status-heading').textContent = shown.title;
  // Only on a change, so the live region announces each new status once.
  if (shown.text !== lastText) {
    $('status-text').textContent = shown.text;
    lastText = shown.text;
  }
  renderProgress(shown);
  renderActions(order, shown);

  const steps = Array.isArray(order.timeline) ? order.timeline : [];
  fill($('timeline'), ...steps.map((s) => el('li', { className: /declined|failed|rejected/.test(s.status) ? 'step-bad' : null, 'data-status': s.status },
    el('strong', { text: STEP_LABEL[s.status] || s.status }),
    el('time', { datetime: s.at, text: when(s.at) }),
    s.detail ? el('span', { className: 'detail', text: ' · ' + s.detail }) : null)));
  $('timeline-box').hidden = steps.length === 0;

  const currency = order.currency || 'ILS';
  const rows = [
    ['Restaurant', order.restaurant],
    ['Order', order.orderId],
    ['Card', order.card && order.card.last4 ? `${order.card.brand || 'card'} •••• ${order.card.last4}` : ''],
    ['Email', order.email],
    ['Total', money(order.total || 0, currency)],
  ].filter(([, v]) => v);
  fill($('summary'), ...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));
  const items = Array.isArray(order.items) ? order.items : [];
  fill($('items'), ...(items.length
    ? items.map((it) => el('li', {}, el('span', { text: `${it.quantity} × ${it.name}` }), el('span', { text: money(it.quantity * it.unitPrice, currency) })))
    : [el('li', { className: 'basket-empty', text: 'No dishes listed: the restaurant takes your order from here.' })]));
  $('summary-box').hidden = false;
  $('order-ref').textContent = order.restaurant ? `From ${order.restaurant}` : '';
  document.title = `${shown.title} · Kafka Restaurants`;
}

function stopWith(title, message) {
  $('banner').className = 'panel status-banner status--bad';
  $('status-icon').textContent = '?';
  $('status-heading').textContent = title;
  $('status-text').textContent = message;
  $('progress').hidden = true;
  fill($('actions'), el('a', { className: 'button', href: '/', text: 'Back to all restaurants' }));
}

async function poll(id) {
  try {
    const { body } = await getJSON('/api/orders/' + encodeURIComponent(id));
    misses = 0;
    $('notice').textContent = '';
    render(body);
    if (body.final) return;
  } catch (err) {
    if (err.status === 404) {
      misses++;
      if (misses > NOT_FOUND_GRACE) {
        stopWith('Order not found', 'We have no order with this number. Check the link in your email.');
        return;
      }
    } else {
      // Keep trying: the page recovers by itself when the service is back.
      $('notice').textContent = `${err.message} We keep checking.`;
    }
  }
  setTimeout(() => poll(id), POLL_MS);
}

const id = param('id');
if (!id) stopWith('No order chosen', 'This page shows one order: open it from the link in your confirmation email.');
else poll(id);
