import type { Socket } from 'node:net';
import { HttpProblem } from '../contract/problem.js';

/**
 * Requests that Node's HTTP parser refuses (headers too large, a malformed request line or header,
 * conflicting lengths) never reach the app; Node answers them with a bare `400` or `431` and no body.
 * This answers them as the app answers everything else: an RFC 9457 problem naming the part at fault.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // Nothing to answer on a socket that is gone or has already started an answer.
  if (error.code === 'ECONNRESET' || !socket.writable || socket.bytesWritten > 0) {
    socket.destroy();
    return;
  }
  const problem = describe(error.code ?? '');
  const body = JSON.stringify(problem.toJSON());
  socket.end(
    `HTTP/1.1 ${problem.status} ${problem.title}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

function describe(code: string): HttpProblem {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return new HttpProblem(431, 'The request line and headers are larger than the server accepts (16 KB)', {
      title: 'Request header fields too large',
      errors: [{ field: 'header', message: 'the request line and headers are too large' }],
    });
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT') {
    return new HttpProblem(408, 'The request was not received in time', { title: 'Request timeout' });
  }
  if (code === 'HPE_INVALID_EOF_STATE') {
    // The client closed its side early; mostly in the body, which is what a half-closing client is told.
    return new HttpProblem(400, 'The request ended early (the connection was closed before the body was complete)', {
      errors: [{ field: 'body', message: 'ended before the length the headers announced' }],
    });
  }
  // Lengths and encodings are headers; a broken chunk is the body.
  const where = /CHUNK|BODY/.test(code) && !/CONTENT_LENGTH|TRANSFER_ENCODING/.test(code) ? 'body' : 'header';
  return new HttpProblem(400, `The request is not well-formed HTTP (${code || 'parse error'})`, {
    errors: [{ field: where, message: `is not well-formed HTTP (${code || 'parse error'})` }],
  });
}
