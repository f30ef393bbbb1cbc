// The topology page: a few static files (receiver/web/) and the graph library they use (cytoscape, from
// node_modules), served by the admin server under `/`. Only the files in the table are served, so no
// request path ever reaches the file system. The page itself reads /api/topology and /api/history (memory sink).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as http from 'node:http';
import { sendJson, type AdminServer, type RouteHandler } from './admin';
import type { HistoryJson } from '../sinks/memory';

/** receiver/web, from receiver/src/admin (tsx) and receiver/dist (built) alike. */
export const WEB_DIR = path.join(__dirname, '..', '..', 'web');

interface PageFile { file: () => string; type: string }

const web = (name: string) => () => path.join(WEB_DIR, name);

export const PAGE_FILES: Readonly<Record<string, PageFile>> = {
  '/': { file: web('index.html'), type: 'text/html; charset=utf-8' },
  '/index.html': { file: web('index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { file: web('app.js'), type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: web('style.css'), type: 'text/css; charset=utf-8' },
  '/vendor/cytoscape.min.js': { file: () => require.resolve('cytoscape/dist/cytoscape.min.js'), type: 'text/javascript; charset=utf-8' },
};

/** A handler serving PAGE_FILES (read once, then kept); anything else is a 404 naming what exists. */
export function topologyPageHandler(): RouteHandler {
  const cache = new Map<string, Buffer>();
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    const urlPath = new URL(req.url ?? '/', 'http://admin').pathname;
    const page = PAGE_FILES[urlPath];
    if (!page) {
      sendJson(res, 404, { error: `no such page: ${urlPath}`, pages: Object.keys(PAGE_FILES), api: ['/api/topology', '/api/history'] });
      return;
    }
    let body = cache.get(urlPath);
    if (!body) {
      const file = page.file();
      try {
        body = fs.readFileSync(file);
      } catch (err) {
        throw new Error(`topology page file ${file} for ${urlPath} cannot be read: ${(err as Error).message}`);
      }
      cache.set(urlPath, body);
    }
    res.writeHead(200, { 'content-type': page.type, 'content-length': body.length, 'cache-control': 'no-cache' });
    res.end(body);
  };
}

/** Serves the page under `/`, and the memory sink's history at /api/history, on an admin server. */
export function mountTopologyPage(admin: AdminServer, history: () => HistoryJson | Promise<HistoryJson>): void {
  admin.route('/api/history', async (_req, res) => sendJson(res, 200, await history()));
  admin.mount('/', topologyPageHandler());
}
