/**
 * A small XML reader for S3 responses (ListBucketResult, Error, InitiateMultipartUploadResult, ...):
 * elements, text, CDATA and the five named plus numeric character references. It refuses DOCTYPE
 * (no entity expansion), bounds nesting depth, and ignores attributes and namespace prefixes,
 * which S3 responses do not need. Also the escaping for request bodies the client builds.
 */

/** An element: its local name, child elements in order, and its text content (not trimmed). */
export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

/** The input is not well-formed XML (as far as this reader checks). */
export class XmlError extends SyntaxError {
  override name = "XmlError";
}

const MAX_DEPTH = 64;
const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
const NAME = /[A-Za-z_:][-A-Za-z0-9_.:\u00b7\u00c0-\uffff]*/y;

/** Replaces character references in `raw` and normalises line ends as XML does. */
export function decodeEntities(raw: string): string {
  return raw.replace(/\r\n?/g, "\n").replace(/&([^;&<]*);?/g, (whole, ref: string) => {
    if (!whole.endsWith(";")) throw new XmlError(`unterminated reference "&${ref}"`);
    if (ref in NAMED) return NAMED[ref];
    const m = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(ref);
    const cp = m ? parseInt(m[1] ?? m[2], m[1] ? 16 : 10) : -1;
    if (cp <= 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      throw new XmlError(`unknown reference "&${ref};"`);
    }
    return String.fromCodePoint(cp);
  });
}

/** Escapes text for an element's content or an attribute value. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${Object.keys(NAMED).find((k) => NAMED[k] === c)};`);
}

function localName(name: string): string {
  return name.slice(name.lastIndexOf(":") + 1);
}

/** Parses a document; returns its root element. Throws {@link XmlError} on malformed input. */
export function parseXml(source: string): XmlElement {
  let i = source.charCodeAt(0) === 0xfeff ? 1 : 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;

  const fail = (what: string): never => {
    throw new XmlError(`${what} at offset ${i}`);
  };
  const skipPast = (end: string) => {
    const at = source.indexOf(end, i);
    if (at < 0) fail(`missing "${end}"`);
    i = at + end.length;
  };
  const readName = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(source);
    if (!m) return fail("expected a name");
    i += m[0].length;
    return m[0];
  };

  while (i < source.length) {
    const lt = source.indexOf("<", i);
    const textEnd = lt < 0 ? source.length : lt;
    if (textEnd > i) {
      const raw = source.slice(i, textEnd);
      const top = stack.at(-1);
      if (top) top.text += decodeEntities(raw);
      else if (raw.trim() !== "") fail("text outside the root element");
      i = textEnd;
      continue;
    }
    if (source.startsWith("<?", i)) skipPast("?>");
    else if (source.startsWith("<!--", i)) skipPast("-->");
    else if (source.startsWith("<![CDATA[", i)) {
      const top = stack.at(-1) ?? fail("CDATA outside the root element");
      const end = source.indexOf("]]>", i);
      if (end < 0) fail('missing "]]>"');
      top.text += source.slice(i + 9, end);
      i = end + 3;
    } else if (source.startsWith("<!", i)) fail("DOCTYPE and declarations are not accepted");
    else if (source.startsWith("</", i)) {
      i += 2;
      const name = readName();
      const open = stack.pop();
      if (!open || open.name !== localName(name)) fail(`unexpected </${name}>`);
      while (/\s/.test(source[i] ?? "")) i++;
      if (source[i] !== ">") fail("expected >");
      i++;
    } else {
      i++;
      const element: XmlElement = { name: localName(readName()), children: [], text: "" };
      if (root && stack.length === 0) fail("a second root element");
      if (stack.length >= MAX_DEPTH) fail("elements nested too deep");
      // Attributes are skipped, but quoted values are honoured so a ">" inside one is not the end.
      let selfClosing = false;
      for (;;) {
        const c = source[i];
        if (c === undefined) fail("unterminated tag");
        if (c === '"' || c === "'") {
          const end = source.indexOf(c, i + 1);
          if (end < 0) fail("unterminated attribute value");
          i = end + 1;
        } else if (c === ">") {
          i++;
          break;
        } else if (c === "/" && source[i + 1] === ">") {
          i += 2;
          selfClosing = true;
          break;
        } else i++;
      }
      stack.at(-1)?.children.push(element);
      root ??= element;
      if (!selfClosing) stack.push(element);
    }
  }
  if (stack.length) fail(`unclosed <${stack.at(-1)?.name}>`);
  return root ?? fail("no root element");
}

/** The first child element named `name`, if any. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

/** Every child element named `name`, in document order. */
export function children(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** The text of the first child named `name`, exactly as written (untrimmed), or undefined. */
export function childText(el: XmlElement, name: string): string | undefined {
  return child(el, name)?.text;
}
