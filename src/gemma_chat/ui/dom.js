// One way to build an element: attributes skip null/false, `true` is a bare attribute,
// and `html` (already escaped or sanitised by the caller) becomes its content. `style` goes
// through the CSSOM: the app's CSP (style-src 'self') refuses style attributes.
export function el(tag, attrs = {}, html = '') {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k === 'style') node.style.cssText = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  if (html) node.innerHTML = html;
  return node;
}
