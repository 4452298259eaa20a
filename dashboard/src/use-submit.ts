import { useState } from 'preact/hooks';
import { describe, fieldErrors } from './api.js';
import { useClient } from './client-context.js';

/**
 * One way for every form to send: `busy` while it runs, then the server's message for each field it
 * names in `errors` (shown beside the field), or a `message` when it names none.
 */
export function useSubmit() {
  const { guard } = useClient();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (action: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setErrors({});
    setMessage(undefined);
    try {
      await action().catch(guard);
      return true;
    } catch (caught) {
      const fields = fieldErrors(caught);
      setErrors(fields);
      if (!Object.keys(fields).length) setMessage(describe(caught));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { submit, errors, setErrors, message, busy };
}
