import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

/** Texts longer than this show their beginning and a "Show all" button (a prompt can be a million characters). */
export const FOLD_AT = 4000;

/**
 * A long text folded to its first FOLD_AT characters until a person asks for all of it; `render`
 * draws whichever part shows (as preformatted text, as Markdown).
 */
export function Folded({ text, render }: { text: string; render: (shown: string) => ComponentChildren }) {
  const [all, setAll] = useState(false);
  if (text.length <= FOLD_AT) return <>{render(text)}</>;
  return (
    <>
      {render(all ? text : `${text.slice(0, FOLD_AT)}…`)}
      <p class="fold-note muted">
        {all
          ? `All ${text.length.toLocaleString('en-US')} characters`
          : `The first ${FOLD_AT.toLocaleString('en-US')} of ${text.length.toLocaleString('en-US')} characters`}
        <button type="button" onClick={() => setAll(!all)}>
          {all ? 'Show less' : 'Show all'}
        </button>
      </p>
    </>
  );
}
