// The search page: filters come from the API (/api/styles), results update as the filters
// change (text input debounced), the URL carries the filters so a search can be shared and
// the back button works, and loading, empty and error states are all shown.
import { getJSON } from './api.js?v=c17234358b';
import { announce, debounce, el, fill, monogram, styleClass } from './dom.js?v=0156e72907';

const PAGE_SIZE = 6;
const form = document.getElementById('search-form');
const q = document.getElementById('q');
const style = document.getElementById('style');
const sort = document.getElementById('sort');
const checks = ['vegetarian', 'delivery', 'open_now'].map((id) => document.getElementById(id));
const results = document.getElementById('results');
const state = document.getElementById('results-state');
const count = document.getElementById('count');
const pager = document.getElementById('pager');
const prev = document.getElementById('prev');
const next = document.getElementById('next');
const pageInfo = document.getElementById('page-info');

let offset = 0;
let inFlight = null;

/** query turns the form into the API's search parameters (the seed's names where it had them). */
function query() {
  const p = new URLSearchParams();
  if (q.value.trim()) p.set('q', q.value.trim());
  if (style.value) p.set('restaurant_style', style.value);
  for (const c of checks) if (c.checked) p.set(c.name, 'true');
  if (sort.value && sort.value !== 'name') p.set('sort', sort.value);
  if (offset > 0) p.set('offset', String(offset));
  return p;
}

/** restore fills the form from the page URL, so a shared or reloaded search shows the same. */
function restore() {
  const p = new URLSearchParams(window.location.search);
  q.value = p.get('q') || '';
  style.dataset.wanted = p.get('restaurant_style') || '';
  style.value = style.dataset.wanted;
  for (const c of checks) c.checked = p.get(c.name) === 'true';
  sort.value = ['rating', 'delivery'].includes(p.get('sort')) ? p.get('sort') : 'name';
  offset = Math.max(0, Number.parseInt(p.get('offset') || '0', 10) || 0);
}

async function loadStyles() {
  try {
    const { body } = await getJSON('/api/styles');
    const wanted = style.dataset.wanted;
    for (const s of Array.isArray(body) ? body : []) style.append(el('option', { value: s, text: s }));
    style.value = wanted;
  } catch {
    // Searching still works without the style list; the select keeps "All styles".
  }
}

function card(r) {
  const facts = [r.style, r.area].filter(Boolean).join(' · ');
  return el('li', {},
    el('article', { className: 'card' },
      el('div', { className: 'card__banner ' + styleClass(r.style), 'aria-hidden': 'true' },
        el('span', { className: 'card__monogram', text: monogram(r.name) }),
        r.rating ? el('span', { className: 'rating', text: '★ ' + Number(r.rating).toFixed(1) }) : null),
      el('div', { className: 'card__body' },
        el('h3', { className: 'card__title' },
          el('a', { href: '/restaurant.html?id=' + encodeURIComponent(r.id), text: r.name })),
        el('p', { className: 'card__meta', text: facts }),
        r.rating ? el('p', { className: 'visually-hidden', text: `Rated ${Number(r.rating).toFixed(1)} out of 5` }) : null,
        el('ul', { className: 'badges', 'aria-label': 'Features' },
          el('li', { className: r.openNow ? 'badge badge--ok' : 'badge badge--off', text: r.openNow ? 'Open now' : 'Closed now' }),
          r.vegetarian ? el('li', { className: 'badge badge--ok', text: 'Vegetarian' }) : null,
          r.delivery
            ? el('li', { className: 'badge badge--accent', text: r.deliveryMinutes ? `Delivery · ${r.deliveryMinutes} min` : 'Delivery' })
            : el('li', { className: 'badge badge--off', text: 'Pick-up only' })))));
}

function showLoading() {
  results.setAttribute('aria-busy', 'true');
  if (!results.children.length) {
    fill(state);
    fill(results, ...Array.from({ length: 3 }, () => el('li', { 'aria-hidden': 'true' }, el('div', { className: 'skeleton' }))));
  }
}

function showError(err) {
  results.removeAttribute('aria-busy');
  fill(results);
  pager.hidden = true;
  count.textContent = '';
  fill(state, el('div', { className: 'panel state state--error', role: 'alert' },
    el('p', {}, el('strong', { text: 'We could not load restaurants. ' }), err.message),
    el('button', { className: 'button', type: 'button', text: 'Try again', onclick: () => search() })));
}

function showResults(list, total) {
  results.removeAttribute('aria-busy');
  fill(results, ...list.map(card));
  if (total === 0) {
    fill(state, el('div', { className: 'panel state' },
      el('p', {}, el('strong', { text: 'No restaurants match.' }), ' Try fewer words or remove a filter.'),
      el('button', { className: 'button button--quiet', type: 'button', text: 'Clear filters', onclick: () => form.reset() })));
  } else {
    fill(state);
  }
  const page = Math.floor(offset / PAGE_SIZE) + 1;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  pager.hidden = pages <= 1;
  prev.disabled = offset === 0;
  next.disabled = offset + PAGE_SIZE >= total;
  pageInfo.textContent = `Page ${page} of ${pages}`;
  const shown = total === 1 ? '1 restaurant' : `${total} restaurants`;
  announce(count, pages > 1 ? `${shown} · showing ${offset + 1}–${offset + list.length}` : shown);
}

/** search runs the current query; a newer search cancels an older one still in flight. */
async function search() {
  const p = query();
  const url = p.toString() ? '?' + p.toString() : window.location.pathname;
  if (url !== window.location.search) history.replaceState(null, '', url);
  if (inFlight) inFlight.abort();
  const ctrl = new AbortController();
  inFlight = ctrl;
  showLoading();
  p.set('limit', String(PAGE_SIZE));
  try {
    const { body, headers } = await getJSON('/api/search?' + p.toString(), { signal: ctrl.signal });
    const list = Array.isArray(body) ? body : [];
    const total = Number.parseInt(headers.get('X-Total-Count') || String(list.length), 10);
    if (list.length === 0 && total > 0 && offset > 0) {
      offset = 0; // The page asked for is past the end (an old link): show the first one.
      return search();
    }
    showResults(list, total);
  } catch (err) {
    if (err.name !== 'AbortError') showError(err);
  } finally {
    if (inFlight === ctrl) inFlight = null;
  }
}

const searchSoon = debounce(() => { offset = 0; search(); }, 250);

q.addEventListener('input', searchSoon);
for (const input of [style, sort, ...checks]) input.addEventListener('change', () => { offset = 0; search(); });
form.addEventListener('submit', (e) => { e.preventDefault(); offset = 0; search(); });
form.addEventListener('reset', () => {
  // The reset event fires before the fields are cleared.
  setTimeout(() => { offset = 0; search(); q.focus(); }, 0);
});
prev.addEventListener('click', () => { offset = Math.max(0, offset - PAGE_SIZE); search(); document.getElementById('results-heading').focus(); });
next.addEventListener('click', () => { offset += PAGE_SIZE; search(); document.getElementById('results-heading').focus(); });

restore();
loadStyles();
search();
