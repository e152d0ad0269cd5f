// Copies the front-end libraries pinned in package.json (installed by `npm ci`) into the folder the
// server embeds, so the binary serves them with no CDN. Run after changing a version:
//   cd web && npm ci && npm run vendor
// and commit crates/server/ui/vendor/ together with package-lock.json.
import { cpSync, mkdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, 'node_modules');
const target = join(here, '..', 'crates', 'server', 'ui', 'vendor');

// [package, file in the package, name in vendor/]
const files = [
  ['leaflet', 'dist/leaflet.js', 'leaflet/leaflet.js'],
  ['leaflet', 'dist/leaflet.css', 'leaflet/leaflet.css'],
  ['leaflet', 'dist/images/marker-icon.png', 'leaflet/images/marker-icon.png'],
  ['leaflet', 'dist/images/marker-icon-2x.png', 'leaflet/images/marker-icon-2x.png'],
  ['leaflet', 'dist/images/marker-shadow.png', 'leaflet/images/marker-shadow.png'],
  ['leaflet', 'dist/images/layers.png', 'leaflet/images/layers.png'],
  ['leaflet', 'dist/images/layers-2x.png', 'leaflet/images/layers-2x.png'],
  ['leaflet', 'LICENSE', 'leaflet/LICENSE'],
  ['leaflet.markercluster', 'dist/leaflet.markercluster.js', 'leaflet.markercluster/leaflet.markercluster.js'],
  ['leaflet.markercluster', 'dist/MarkerCluster.css', 'leaflet.markercluster/MarkerCluster.css'],
  ['leaflet.markercluster', 'dist/MarkerCluster.Default.css', 'leaflet.markercluster/MarkerCluster.Default.css'],
  ['leaflet.markercluster', 'MIT-LICENCE.txt', 'leaflet.markercluster/LICENSE'],
  ['echarts', 'dist/echarts.min.js', 'echarts/echarts.min.js'],
  ['echarts', 'LICENSE', 'echarts/LICENSE'],
];

rmSync(target, { recursive: true, force: true });
const versions = {};
for (const [pkg, from, to] of files) {
  const destination = join(target, to);
  mkdirSync(dirname(destination), { recursive: true });
  cpSync(join(modules, pkg, from), destination);
  versions[pkg] = JSON.parse(readFileSync(join(modules, pkg, 'package.json'), 'utf8')).version;
}
writeFileSync(join(target, 'VERSIONS.json'), JSON.stringify(versions, null, 2) + '\n');
console.log(`vendored into ${target}:`, versions);
