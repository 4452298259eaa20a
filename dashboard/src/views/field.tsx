import type { ComponentChildren } from 'preact';

/** A labelled form field with the server's message for it right below (announced to screen readers). */
export function Field(props: {
  id: string;
  label: string;
  error: string | undefined;
  hint?: string;
  children: ComponentChildren;
}) {
  return (
    <div class={`field${props.error ? ' has-error' : ''}`}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && !props.error && <small class="muted">{props.hint}</small>}
      {props.error && (
        <p class="field-error" id={`${props.id}-error`} role="alert" data-field={props.id}>
          {props.error}
        </p>
      )}
    </div>
  );
}
