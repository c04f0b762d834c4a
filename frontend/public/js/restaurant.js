// The restaurant page: details, opening hours, the menu with quantity steppers, a running
// total, and the checkout form. The order is sent once per form: one Idempotency-Key is made
// when the page loads and reused on every retry, so a double click or a retry after a lost
// answer never places two orders; the button is disabled while a request is out.
import { ApiError, getJSON, postJSON } from './api.js?v=c17234358b';
import { check, checkExpiry, digits, format } from './card.js?v=d42d9f3235';
import { el, fill, money, param } from './dom.js?v=0156e72907';

const DAYS = [['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'], ['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday']];
const MAX_QUANTITY = 50;

const $ = (id) => document.getElementById(id);
const form = $('order-form');
const fields = { email: $('email'), creditCard: $('card'), cardExpiry: $('expiry') };
const errors = { email: $('email-error'), creditCard: $('card-error'), cardExpiry: $('expiry-error') };
const submit = $('submit');
const formError = $('form-error');

/** The one key for this form; see the module comment. */
const idempotencyKey = crypto.randomUUID();
const quantities = new Map();
let restaurant = null;
let sending = false;

function showPageError(title, message) {
  $('name').textContent = title;
  fill($('page-state'), el('div', { className: 'panel state state--error' },
    el('p', { text: message }),
    el('a', { className: 'button', href: '/', text: 'Back to all restaurants' })));
}

function renderHead(r) {
  document.title = `${r.name} · Kafka Restaurants`;
  $('name').textContent = r.name;
  fill($('facts'),
    el('li', { text: r.style }),
    r.rating ? el('li', { text: `★ ${Number(r.rating).toFixed(1)}`, 'aria-label': `Rated ${Number(r.rating).toFixed(1)} out of 5` }) : null,
    el('li', { text: r.openNow ? 'Open now' : 'Closed now' }),
    el('li', { text: r.vegetarian ? 'Vegetarian friendly' : 'Few vegetarian dishes' }),
    el('li', { text: r.delivery ? (r.deliveryMinutes ? `Delivers in about ${r.deliveryMinutes} min` : 'Delivers') : 'Pick-up only' }),
    r.address ? el('li', { text: r.address }) : null);
}

function renderHours(r) {
  const hours = r.hours || {};
  let today = '';
  try {
    today = new Intl.DateTimeFormat('en-US', { weekday: 'short', timeZone: r.timezone || undefined }).format(new Date()).toLowerCase().slice(0, 3);
  } catch {
    today = '';
  }
  const rows = DAYS.map(([key, label]) => {
    const spans = Array.isArray(hours[key]) ? hours[key] : [];
    const text = spans.length ? spans.map((s) => `${s[0]}–${s[1]}`).join(', ') : 'Closed';
    return el('tr', { className: key === today ? 'today' : null },
      el('th', { scope: 'row', text: label + (key === today ? ' (today)' : '') }), el('td', { text }));
  });
  fill($('hours').tBodies[0], ...rows);
  $('hours-box').hidden = Object.keys(hours).length === 0;
}

function renderMenu(r) {
  const items = Array.isArray(r.menu) ? r.menu : [];
  if (!items.length) {
    fill($('menu'), el('li', { className: 'basket-empty', text: 'This restaurant has not published a menu; you can still place an order.' }));
    return;
  }
  fill($('menu'), ...items.map((item) => {
    const qty = el('output', { id: `qty-${item.id}`, 'aria-live': 'polite', text: '0' });
    const minus = el('button', { type: 'button', 'aria-label': `Remove one ${item.name}`, text: '−', disabled: true });
    const plus = el('button', { type: 'button', 'aria-label': `Add one ${item.name}`, text: '+' });
    const update = (delta) => {
      const n = Math.min(MAX_QUANTITY, Math.max(0, (quantities.get(item.id) || 0) + delta));
      if (n === 0) quantities.delete(item.id);
      else quantities.set(item.id, n);
      qty.textContent = String(n);
      minus.disabled = n === 0;
      plus.disabled = n === MAX_QUANTITY;
      renderBasket();
      // A disabled button loses focus; keep the keyboard user in the stepper.
      if (document.activeElement === document.body) (n === 0 ? plus : minus).focus();
    };
    minus.addEventListener('click', () => update(-1));
    plus.addEventListener('click', () => update(1));
    return el('li', { className: 'menu-item', 'data-item': item.id },
      el('div', { className: 'menu-item__info' },
        el('h3', { text: item.name }),
        item.description ? el('p', { text: item.description }) : null,
        Array.isArray(item.tags) && item.tags.length
          ? el('ul', { className: 'badges', 'aria-label': 'Tags' }, ...item.tags.map((t) => el('li', { className: 'badge', text: t })))
          : null),
      el('div', { className: 'menu-item__side' },
        el('p', { className: 'menu-item__price', text: money(item.price, r.currency) }),
        el('div', { className: 'stepper', role: 'group', 'aria-label': `Quantity of ${item.name}` }, minus, qty, plus)));
  }));
}

function total() {
  let sum = 0;
  for (const item of restaurant.menu || []) sum += (quantities.get(item.id) || 0) * item.price;
  return sum;
}

function renderBasket() {
  const lines = (restaurant.menu || []).filter((item) => quantities.has(item.id));
  fill($('basket'), ...lines.map((item) => {
    const n = quantities.get(item.id);
    return el('li', {}, el('span', { text: `${n} × ${item.name}` }), el('span', { text: money(n * item.price, restaurant.currency) }));
  }));
  $('basket-empty').hidden = lines.length > 0;
  const sum = money(total(), restaurant.currency);
  $('total').textContent = sum;
  if (!sending) submit.textContent = lines.length ? `Place order · ${sum}` : 'Place order';
}

function setError(name, message) {
  errors[name].textContent = message || '';
  if (message) fields[name].setAttribute('aria-invalid', 'true');
  else fields[name].removeAttribute('aria-invalid');
}

function cardHint() {
  const c = check(fields.creditCard.value);
  $('card-hint').textContent = fields.creditCard.value ? c.message : '';
  if (c.ok || !c.complete) setError('creditCard', '');
  return c;
}

/** validate checks the form before sending; it returns the first field in error. */
function validate() {
  let first = null;
  const email = fields.email.value.trim();
  if (!/^[^\s@;,]+@[^\s@;,]+\.[^\s@;,]+$/.test(email)) {
    setError('email', email ? 'Enter one email address, like dana@example.com.' : 'Enter your email: we send the confirmation there.');
    first = first || fields.email;
  } else setError('email', '');
  const c = check(fields.creditCard.value);
  if (!c.ok) {
    const message = !fields.creditCard.value ? 'Enter your card number.' : c.complete ? c.message : 'This number is too short: please check the digits.';
    setError('creditCard', message);
    first = first || fields.creditCard;
  } else setError('creditCard', '');
  const x = checkExpiry(fields.cardExpiry.value);
  if (!x.ok) {
    setError('cardExpiry', x.message);
    first = first || fields.cardExpiry;
  } else setError('cardExpiry', '');
  return first;
}

/** fieldFor maps an API error code to the field it is about. */
const fieldFor = { invalid_email: 'email', invalid_card: 'creditCard', invalid_card_expiry: 'cardExpiry' };

async function placeOrder(event) {
  event.preventDefault();
  if (sending) return;
  formError.textContent = '';
  const invalid = validate();
  if (invalid) {
    invalid.focus();
    return;
  }
  sending = true;
  submit.disabled = true;
  submit.textContent = 'Placing your order…';
  form.setAttribute('aria-busy', 'true');
  const order = {
    restaurant: restaurant.id,
    email: fields.email.value.trim(),
    creditCard: digits(fields.creditCard.value),
    items: [...quantities].map(([menuItemId, quantity]) => ({ menuItemId, quantity })),
  };
  if (fields.cardExpiry.value.trim()) order.cardExpiry = fields.cardExpiry.value.trim();
  try {
    const { body } = await postJSON('/api/orders', order, { 'Idempotency-Key': idempotencyKey });
    // Leave the page: the status page follows the order from here (and is the link in the email).
    window.location.assign('/status.html?id=' + encodeURIComponent(body.orderId));
    return;
  } catch (err) {
    const e = err instanceof ApiError ? err : new ApiError(0, 'network', 'Something went wrong. Please try again.');
    const field = fieldFor[e.code];
    if (field) {
      setError(field, e.message);
      fields[field].focus();
    } else {
      formError.textContent = e.message;
      formError.focus();
    }
  }
  sending = false;
  submit.disabled = false;
  form.removeAttribute('aria-busy');
  renderBasket();
}

fields.creditCard.addEventListener('input', () => {
  // Re-group the digits as the user types, keeping the caret after the same digit.
  const input = fields.creditCard;
  const before = digits(input.value.slice(0, input.selectionStart || 0)).length;
  if (/^[\d\s-]*$/.test(input.value)) {
    const n = digits(input.value).slice(0, 19);
    const formatted = format(n);
    if (formatted !== input.value) {
      input.value = formatted;
      let pos = 0;
      for (let seen = 0; pos < formatted.length && seen < before; pos++) if (/\d/.test(formatted[pos])) seen++;
      input.setSelectionRange(pos, pos);
    }
  }
  cardHint();
});
// No error on blur: a message appearing as the field loses focus moves the submit button
// under the pointer, and the click the user started lands on nothing. The hint line below
// the field (space reserved) already says whether the number looks right.
fields.email.addEventListener('input', () => setError('email', ''));
fields.cardExpiry.addEventListener('input', () => {
  const v = fields.cardExpiry.value;
  // Type "0829" and get "08/29".
  if (/^\d{3,4}$/.test(v)) fields.cardExpiry.value = v.slice(0, 2) + '/' + v.slice(2);
  setError('cardExpiry', '');
});
form.addEventListener('submit', placeOrder);

async function load() {
  const id = param('id');
  if (!id) {
    showPageError('No restaurant chosen', 'This page needs a restaurant. Pick one from the list.');
    return;
  }
  try {
    const { body } = await getJSON('/api/restaurants/' + encodeURIComponent(id));
    restaurant = body;
  } catch (err) {
    if (err.status === 404) showPageError('Restaurant not found', 'We could not find this restaurant. It may have left the catalog.');
    else showPageError('Something went wrong', err.message);
    return;
  }
  renderHead(restaurant);
  renderHours(restaurant);
  renderMenu(restaurant);
  renderBasket();
  cardHint();
  $('layout').hidden = false;
}

load();
