// Builds the console into dist/: one bundled, minified script (esbuild), the stylesheets, the page.
// `make web` runs it when a source file changed; dist/ is what the local stack and S3 serve.
import { build } from 'esbuild';
import { cpSync, mkdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';

const out = 'dist';
rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/assets`, { recursive: true });
await build({
  entryPoints: ['src/app.js'],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'esm',
  target: ['es2022'],
  outfile: `${out}/assets/app.js`,
  legalComments: 'linked',
  logLevel: 'warning',
});
const css = readFileSync('src/styles.css', 'utf8') + '\n' + readFileSync('node_modules/uplot/dist/uPlot.min.css', 'utf8');
writeFileSync(`${out}/assets/app.css`, css);
cpSync('src/index.html', `${out}/index.html`);
cpSync('src/favicon.svg', `${out}/favicon.svg`);
