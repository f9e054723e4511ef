// The shop's page: sign in (the session is an HttpOnly cookie), then list and add cart items.
const json = (method, body) => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
async function refresh() {
  const r = await fetch('/api/cart');
  const items = r.ok ? await r.json() : [];
  document.getElementById('cart').innerHTML = items.map(i => `<li>${i.quantity} × ${i.product}</li>`).join('');
}
document.getElementById('login').onsubmit = async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  await fetch('/api/login', json('POST', { email: f.get('email'), password: f.get('password') }));
  refresh();
};
document.getElementById('add').onsubmit = async (e) => {
  e.preventDefault();
  await fetch('/api/cart', json('POST', { product: new FormData(e.target).get('product') }));
  refresh();
};
refresh();
