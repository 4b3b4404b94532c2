// Small DOM helpers shared by the pages.

export const $ = (selector) => document.querySelector(selector);

// A button that does only its own action, also inside a row that reacts to clicks.
export function button(text, onClick, title = '') {
  const b = document.createElement('button');
  b.textContent = text;
  if (title) b.title = title;
  b.addEventListener('click', (e) => { e.stopPropagation(); onClick(e); });
  return b;
}
