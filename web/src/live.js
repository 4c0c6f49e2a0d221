// Live updates. The page reads /api/v1/events/stream (Server-Sent Events) with fetch() rather than EventSource:
// the daemon names each event after its kind (`event: plan.state` ...), an open-ended set that EventSource can
// only hear one name at a time, and fetch also shows the HTTP status (a 404 from a daemon without the stream
// switches to polling at once instead of retrying forever). Every event calls onEvent(event); when the stream is
// unavailable or drops, onTick() runs every 5 s and the stream is retried every 30 s.

const POLL_MS = 5000;
const RETRY_MS = 30000;

// Splits an SSE byte stream into events: blocks separated by a blank line, `field: value` lines.
export function parseSseBlock(block) {
  const event = { id: null, type: 'message', data: '' };
  const data = [];
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') data.push(value);
    else if (field === 'event') event.type = value;
    else if (field === 'id') event.id = value;
  }
  event.data = data.join('\n');
  return data.length ? event : null;
}

export function startLive({ onEvent, onTick, onMode }) {
  let lastId = null;
  let pollTimer = null;

  const poll = (why) => {
    onMode('polling', why);
    if (!pollTimer) pollTimer = setInterval(onTick, POLL_MS);
    setTimeout(connect, RETRY_MS);
  };

  async function read(response) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = parseSseBlock(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (!event) continue;
        if (event.id) lastId = event.id;
        let parsed = null;
        try {
          parsed = JSON.parse(event.data);
        } catch {
          parsed = { kind: event.type, message: event.data };
        }
        onEvent({ kind: event.type, ...parsed });
      }
    }
  }

  async function connect() {
    const headers = { Accept: 'text/event-stream' };
    if (lastId) headers['Last-Event-ID'] = lastId;
    let response;
    try {
      response = await fetch('/api/v1/events/stream', { headers, credentials: 'same-origin', cache: 'no-store' });
    } catch (error) {
      return poll(`stream unreachable: ${error.message}`);
    }
    const type = response.headers.get('Content-Type') || '';
    if (!response.ok || !type.startsWith('text/event-stream')) return poll(`stream answered ${response.status}`);
    clearInterval(pollTimer);
    pollTimer = null;
    onMode('live', 'event stream connected');
    onTick();  // catch up on anything missed while polling
    try {
      await read(response);
      poll('stream closed by the daemon');
    } catch (error) {
      poll(`stream failed: ${error.message}`);
    }
  }

  connect();
}
