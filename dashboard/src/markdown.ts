import DOMPurify from 'dompurify';
import { marked } from 'marked';

/** An agent's message as safe HTML: Markdown rendered by marked, then sanitized by DOMPurify. */
export function markdownHtml(text: string): string {
  const html = marked.parse(text, { async: false, gfm: true, breaks: false });
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true } });
}
