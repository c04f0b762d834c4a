// The order status page, the link in every confirmation email (/status.html?id=<orderId>).
// It polls GET /api/orders/{id} once a second until the order is final, shows each status
// the order went through, and announces changes through a polite live region.
import { getJSON } from './api.js?v=c17234358b';
import { el, fill, money, param } from './dom.js?v=0156e72907';

const POLL_MS = 1000;
// Right after the 202 the order record may lag its event by a moment: allow a few misses.
const NOT_FOUND_GRACE = 10;

const $ = (id) => document.getElementById(id);

/** What each status means to the customer. tone drives colour and icon. */
const STATUS = {
  accepted: { title: 'Order received', text: 'We are charging your card now.', tone: 'pending', icon: '…', step: 1 },
  paid: { title: 'Payment received', text: 'Your card was charged. Sending your confirmation email…', tone: 'pending', icon: '…', step: 2 },
  declined: { title: 'Card declined', text: 'Your card was declined. Nothing was charged. Letting you know by email…', tone: 'bad', icon: '!', step: 2, failedAt: 2 },
  failed: { title: 'Payment failed', text: 'We could not process the payment. Nothing was charged. Letting you know by email…', tone: 'bad', icon: '!', step: 2, failedAt: 2 },
  confirmed: { title: 'Order confirmed', text: 'Payment received and your confirmation email is on its way. Enjoy your meal!', tone: 'ok', icon: '✓', step: 3 },
  notified_declined: { title: 'Card declined', text: 'Your card was declined and nothing was charged. We emailed you about it. You can order again with another card.', tone: 'bad', icon: '!', step: 3, failedAt: 2 },
  notified_failed: { title: 'Payment failed', text: 'We could not process the payment and nothing was charged. We emailed you about it. Please try again later.', tone: 'bad', icon: '!', step: 3, failedAt: 2 },
};

const STEP_LABEL = {
  accepted: 'Order received',
  paid: 'Payment received',
  declined: 'Card declined',
  failed: 'Payment failed',
  confirmed: 'Confirmation emailed',
  notified_declined: 'Decline emailed',
  notified_failed: 'Failure emailed',
};

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
let lastStatus = '';
let misses = 0;

function when(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : timeFormat.format(d);
}

function renderProgress(info) {
  const steps = [$('step-received'), $('step-payment'), $('step-email')];
  steps.forEach((li, i) => {
    const n = i + 1;
    li.removeAttribute('aria-current');
    if (info.failedAt === n) li.className = 'failed';
    else if (n <= info.step) li.className = 'done';
    else if (info.tone === 'pending' && n === info.step + 1) {
      li.className = 'current';
      li.setAttribute('aria-current', 'step');
    } else li.className = '';
  });
}

function renderActions(order, info) {
  const actions = [];
  if (order.final && order.restaurantId && info.tone === 'bad') {
    actions.push(el('a', { className: 'button', href: '/restaurant.html?id=' + encodeURIComponent(order.restaurantId), text: 'Try another card' }));
  }
  if (order.final) actions.push(el('a', { className: 'button button--quiet', href: '/', text: 'Back to all restaurants' }));
  fill($('actions'), ...actions);
}

function render(order) {
  const info = STATUS[order.status] || { title: order.status, text: '', tone: 'pending', icon: '…', step: 1 };
  const banner = $('banner');
  banner.className = `panel status-banner status--${info.tone}`;
  banner.dataset.status = order.status;
  $('status-icon').textContent = info.icon;
  $('status-heading').textContent = info.title;
  if (order.status !== lastStatus) {
    $('status-text').textContent = info.text;
    lastStatus = order.status;
  }
  renderProgress(info);
  renderActions(order, info);

  const steps = Array.isArray(order.timeline) ? order.timeline : [];
  fill($('timeline'), ...steps.map((s) => el('li', { className: /declined|failed/.test(s.status) ? 'step-bad' : null, 'data-status': s.status },
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
  document.title = `${info.title} · Kafka Restaurants`;
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
