import DOMPurify from 'dompurify';
import { marked } from 'marked';

const CACHE_SIZE = 2000;
const cache = new Map<string, string>();

/**
 * An agent's message as safe HTML: Markdown rendered by marked, then sanitized by DOMPurify. Kept
 * for the last CACHE_SIZE texts, so re-rendering a long session does not parse them again.
 */
export function markdownHtml(text: string): string {
  let html = cache.get(text);
  if (html === undefined) {
    html = DOMPurify.sanitize(marked.parse(text, { async: false, gfm: true, breaks: false }), {
      USE_PROFILES: { html: true },
    });
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(text, html);
  }
  return html;
}
