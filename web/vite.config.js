// Vite builds the dashboard into one hashed JS and one hashed CSS file under assets/, plus index.html.
// The output directory is chosen by cmake (--outDir in the build tree); nothing is written to the source tree.
// No inline scripts or styles: the daemon serves the page with a strict Content-Security-Policy.
// Plain object, no import: cmake installs node_modules in the build tree, out of reach of this file's imports.
export default {
  root: '.',
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  build: {
    assetsDir: 'assets',
    assetsInlineLimit: 0,   // inline data: URLs would need a looser CSP
    modulePreload: { polyfill: false },  // the polyfill is an inline script
    sourcemap: false,
    target: 'es2020',
    emptyOutDir: true,
  },
  server: {
    // `npm run dev` against a daemon on the default port: the API is proxied, the UI hot-reloads.
    proxy: { '/api': 'http://127.0.0.1:8080', '/metrics': 'http://127.0.0.1:8080' },
  },
};
