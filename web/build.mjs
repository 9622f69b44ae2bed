// Builds web/dist (or the folder given as the first argument, e.g. a test's
// own copy): copies the page sources (folders such as src/views/ included)
// and the MapLibre GL JS and pmtiles files it loads from node_modules. No
// bundling: the page is plain ES modules.
import { cp, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const dist = process.argv[2] ? resolve(process.argv[2]) : join(here, 'dist');
const modules = join(here, 'node_modules');

// Files taken from npm packages, by package folder. The MapLibre ES module
// build loads its worker from `./maplibre-gl-worker.mjs` next to it; the
// pmtiles browser build (fflate included) is loaded by archive.js.
const VENDOR = [
  ['maplibre-gl/dist', 'maplibre-gl.mjs'],
  ['maplibre-gl/dist', 'maplibre-gl-worker.mjs'],
  ['maplibre-gl/dist', 'maplibre-gl.css'],
  ['pmtiles/dist', 'pmtiles.js'],
];

async function main() {
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });
  for (const name of await readdir(src)) {
    await cp(join(src, name), join(dist, name), { recursive: true });
  }
  for (const [folder, name] of VENDOR) {
    const from = join(modules, folder, name);
    try {
      await stat(from);
    } catch {
      throw new Error(`missing ${from}: run \`npm ci\` in web/ first`);
    }
    await cp(from, join(dist, name));
  }
  const files = (await readdir(dist, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  console.log(`web build: ${files.length} files in ${dist}`);
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
