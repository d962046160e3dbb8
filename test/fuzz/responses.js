// An independent reader of what the server sent back: status lines, fields,
// and bodies framed as RFC 9112 §6.3 says (HEAD and 1xx/204/304 carry none,
// then chunked, then Content-Length, else up to the close). It shares no code
// with the server, so a framing bug there cannot hide itself here. Interim
// responses are attached to the final one they precede.

const STATUS_LINE = /^HTTP\/1\.1 ([1-9][0-9]{2}) [\x09\x20-\x7e\x80-\xff]*$/;
const FIELD = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/;

/**
 * Parses as many responses as `buf` holds.
 * `headKind(i)` says whether final response i answers a HEAD: 'yes', 'no',
 * or 'maybe' (after a mutated request: a body is assumed unless the next
 * bytes start another response or nothing follows).
 * `closed`: the connection is over, so a body delimited by the close is whole.
 * Returns { responses, interim, error, incomplete, used }: `interim` lists
 * 1xx responses not yet followed by a final one; `error` describes bytes that
 * are not HTTP; `incomplete` says the last message was cut short.
 */
export function parseResponses(buf, headKind = () => 'no', closed = false) {
  const responses = [];
  let interim = [];
  let i = 0;
  const fail = (why) => ({ responses, interim, error: `at byte ${i}: ${why}`, incomplete: false, used: i });
  while (i < buf.length) {
    const end = buf.indexOf('\r\n\r\n', i, 'latin1');
    if (end === -1) {
      const sofar = buf.toString('latin1', i, Math.min(buf.length, i + 16));
      if (!'HTTP/1.1 '.startsWith(sofar.slice(0, 9)) && !sofar.startsWith('HTTP/1.1 ')) return fail(`not a status line: ${JSON.stringify(sofar)}`);
      return { responses, interim, error: null, incomplete: true, used: i };
    }
    const lines = buf.toString('latin1', i, end).split('\r\n');
    const m = STATUS_LINE.exec(lines[0]);
    if (!m) return fail(`bad status line ${JSON.stringify(lines[0].slice(0, 80))}`);
    const status = Number(m[1]);
    const headers = {};
    for (const line of lines.slice(1)) {
      const f = FIELD.exec(line);
      if (!f) return fail(`bad field line ${JSON.stringify(line.slice(0, 80))}`);
      const key = f[1].toLowerCase();
      headers[key] = headers[key] === undefined ? f[2] : `${headers[key]}, ${f[2]}`;
    }
    const start = i;
    let j = end + 4;
    if (status < 200) {
      if (headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined) {
        return fail(`a ${status} response with framing fields`);
      }
      interim.push({ status, headers, start, end: j });
      i = j;
      continue;
    }
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (te !== undefined && cl !== undefined) return fail('both Transfer-Encoding and Content-Length');
    if (cl !== undefined && !/^[0-9]+$/.test(cl)) return fail(`bad Content-Length ${JSON.stringify(cl)}`);
    if (te !== undefined && te.toLowerCase() !== 'chunked') return fail(`unexpected Transfer-Encoding ${JSON.stringify(te)}`);
    const index = responses.length;
    let head = headKind(index);
    if (head === 'maybe') head = j >= buf.length || buf.toString('latin1', j, j + 7) === 'HTTP/1.' ? 'yes' : 'no';
    const noBody = head === 'yes' || status === 204 || status === 304;
    let body = Buffer.alloc(0);
    let closeDelimited = false;
    if (!noBody) {
      if (te !== undefined) {
        const parts = [];
        for (;;) {
          const lineEnd = buf.indexOf('\r\n', j, 'latin1');
          if (lineEnd === -1) return { responses, interim, error: null, incomplete: true, used: start };
          const sizeLine = buf.toString('latin1', j, lineEnd);
          if (!/^[0-9a-fA-F]{1,8}$/.test(sizeLine)) {
            i = j;
            return fail(`bad chunk size line ${JSON.stringify(sizeLine.slice(0, 40))}`);
          }
          const size = parseInt(sizeLine, 16);
          if (size === 0) {
            // No trailers from this server: the last chunk is followed by an empty line.
            if (lineEnd + 4 > buf.length) return { responses, interim, error: null, incomplete: true, used: start };
            if (buf.toString('latin1', lineEnd + 2, lineEnd + 4) !== '\r\n') {
              i = lineEnd + 2;
              return fail('trailer fields or garbage after the last chunk');
            }
            j = lineEnd + 4;
            break;
          }
          if (lineEnd + 2 + size + 2 > buf.length) return { responses, interim, error: null, incomplete: true, used: start };
          if (buf.toString('latin1', lineEnd + 2 + size, lineEnd + 4 + size) !== '\r\n') {
            i = lineEnd + 2 + size;
            return fail('chunk data not followed by CRLF');
          }
          parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
          j = lineEnd + 4 + size;
        }
        body = Buffer.concat(parts);
      } else if (cl !== undefined) {
        const n = Number(cl);
        if (j + n > buf.length) return { responses, interim, error: null, incomplete: true, used: start };
        body = buf.subarray(j, j + n);
        j += n;
      } else {
        if (!closed) return { responses, interim, error: null, incomplete: true, used: start };
        body = buf.subarray(j);
        j = buf.length;
        closeDelimited = true;
      }
    }
    responses.push({ status, reason: lines[0].slice(13), headers, body, interim, start, end: j, closeDelimited });
    interim = [];
    i = j;
  }
  return { responses, interim, error: null, incomplete: false, used: i };
}

/** Whether a field value lists `token` (case-insensitive), as Connection does. */
export function hasToken(value, token) {
  if (value === undefined) return false;
  return value.split(',').some((t) => t.trim().toLowerCase() === token);
}
