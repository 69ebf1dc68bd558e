// The JSON API as the pages use it: same-origin (the session cookie goes along), and a refusal
// ({"error", "message"}) becomes an Error carrying the server's sentence.
export async function api(method, path, body, headers = {}) {
  const res = await fetch(path, {
    method,
    headers: { ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) {
    let why = text || res.statusText;
    try { why = JSON.parse(text).message || why; } catch { /* not JSON */ }
    throw new Error(why);
  }
  return text ? JSON.parse(text) : null;
}
