// DOM and formatting helpers shared by every page. Everything the API returns is data, never
// markup: el() only ever creates elements and text nodes, so a restaurant named
// "<img src=x onerror=...>" is shown as those characters. The CSP's Trusted Types rule makes
// any innerHTML assignment throw, so a slip would fail loudly instead of opening a hole.

/**
 * el builds an element. props: className, text, and any attribute (aria-*, data-*, href,
 * type...) set with setAttribute; on<event> props add listeners. Children may be nodes,
 * strings (added as text), or null/false (skipped).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** fill replaces a node's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

const formatters = new Map();

function formatter(currency) {
  const code = /^[A-Z]{3}$/.test(currency || '') ? currency : 'ILS';
  if (!formatters.has(code)) {
    formatters.set(code, new Intl.NumberFormat('en', { style: 'currency', currency: code }));
  }
  return formatters.get(code);
}

/**
 * money formats an amount in minor units (agorot, cents) for display. The API keeps money
 * as integers so totals are exact; the currency's own number of decimals turns them into
 * a price (2 for ILS and EUR, 0 for JPY).
 */
export function money(minor, currency) {
  const f = formatter(currency);
  const digits = f.resolvedOptions().maximumFractionDigits;
  return f.format(Number(minor) / 10 ** digits);
}

/** styleClass maps a cuisine to the banner colour class; unknown styles get a neutral one. */
export function styleClass(style) {
  const known = ['chinese', 'italian', 'israeli'];
  const s = String(style || '').toLowerCase();
  return 'style-' + (known.includes(s) ? s : 'other');
}

/** monogram is up to two initials of a name, for the card banner. */
export function monogram(name) {
  const words = String(name || '').split(/\s+/).filter((w) => /^\p{L}/u.test(w));
  return words.slice(0, 2).map((w) => w[0].toUpperCase()).join('') || '•';
}

/** param reads one query-string parameter of the current page. */
export function param(name) {
  return new URLSearchParams(window.location.search).get(name);
}

/** debounce delays fn until calls have stopped for ms milliseconds. */
export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** announce puts a message in a polite live region so screen readers hear it once. */
export function announce(region, message) {
  region.textContent = '';
  // A fresh text node after a tick makes repeated identical messages heard again.
  requestAnimationFrame(() => { region.textContent = message; });
}
