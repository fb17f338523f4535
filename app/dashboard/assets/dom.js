// Building the page. Every value from the API enters it through these helpers, as a text
// node or an attribute value, never as markup (the page's CSP refuses markup strings too).

const SVG_NS = 'http://www.w3.org/2000/svg';

function setProps(node, props) {
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = String(value);
    else if (name === 'class') node.setAttribute('class', value);
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
}

export function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** `el('p', {class: 'x'}, 'text', otherNode)`: an element with text-only children. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  setProps(node, props);
  return append(node, children);
}

export function svg(tag, props = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setProps(node, props);
  return append(node, children);
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function byId(id) {
  return document.getElementById(id);
}

/** Show `message` in an error or status paragraph (empty hides it). */
export function say(node, message) {
  node.textContent = message || '';
  node.hidden = !message;
}
