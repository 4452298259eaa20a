/**
 * Serves the built dashboard (dist/dashboard) from the runtime's own origin, so the browser calls
 * both APIs same-origin. Only files found in that folder when the runtime starts are ever served:
 * a request path is looked up in that list, never joined onto the file system, so no path can
 * leave the folder. The files hold no data, so they need no token; every API call still does.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Middleware } from 'koa';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.webmanifest': 'application/manifest+json',
};

/** Hashed names under assets/ never change; everything else is checked on every load. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/** The page may load only its own files and talk only to its own origin. */
const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

interface StaticFile {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  etag: string;
  cacheControl: string;
}

export interface DashboardFiles {
  /** True when this request is for the dashboard (a file, or a page of the app), not for the API. */
  serves(ctx: Context): boolean;
  middleware: Middleware;
  /** False when the dashboard has not been built. */
  available: boolean;
}

/**
 * @param dir the built dashboard (holds index.html); when it does not exist, `/` answers with a
 *   404 that says how to build it.
 * @param apiPrefixes first path segments that belong to the APIs (`/sessions`, `/registry`, ...):
 *   these never fall back to the app's page.
 */
export function dashboardFiles(dir: string | undefined, apiPrefixes: string[]): DashboardFiles {
  const files = dir && existsSync(join(dir, 'index.html')) ? loadFiles(dir) : new Map<string, StaticFile>();
  const index = files.get('/index.html');
  const api = new Set(apiPrefixes.map((p) => p.replace(/^\/+/, '').split('/')[0]));

  const lookup = (ctx: Context): StaticFile | 'not-built' | undefined => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return undefined;
    const path = ctx.path;
    if (path === '/' || path === '/index.html') return index ?? 'not-built';
    const file = files.get(path);
    if (file) return file;
    // A page of the app (a reload on a deep link): the app's page, when a browser asks for HTML by
    // name (a script's `Accept: */*` gets the API's 404).
    const first = path.split('/')[1] ?? '';
    if (!api.has(first) && index && /\btext\/html\b/.test(ctx.get('accept'))) return index;
    return undefined;
  };

  return {
    available: index !== undefined,
    serves: (ctx) => lookup(ctx) !== undefined,
    middleware: async (ctx, next) => {
      const file = lookup(ctx);
      if (file === undefined) return next();
      if (file === 'not-built') {
        ctx.status = 404;
        ctx.type = 'text/plain';
        ctx.body = 'The dashboard is not built: run `npm run build` and restart the runtime.\n';
        return;
      }
      ctx.set('Cache-Control', file.cacheControl);
      ctx.set('ETag', file.etag);
      ctx.set('Vary', 'Accept-Encoding');
      if (file.type.startsWith('text/html')) ctx.set(PAGE_HEADERS);
      else ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.status = 200;
      if (ctx.fresh) {
        ctx.status = 304;
        return;
      }
      ctx.type = file.type;
      if (file.gzip && ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
        ctx.set('Content-Encoding', 'gzip');
        ctx.body = file.gzip;
      } else {
        ctx.body = file.body;
      }
    },
  };
}

function loadFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && !entry.name.endsWith('.gz')) {
        const type = CONTENT_TYPES[extname(entry.name)];
        if (!type) continue;
        const urlPath = `/${relative(dir, path).split(sep).join('/')}`;
        const body = readFileSync(path);
        files.set(urlPath, {
          body,
          gzip: existsSync(`${path}.gz`) ? readFileSync(`${path}.gz`) : undefined,
          type,
          etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"`,
          cacheControl: urlPath.startsWith('/assets/') ? IMMUTABLE : REVALIDATE,
        });
      }
    }
  };
  walk(dir);
  return files;
}

/**
 * Where `npm run build` puts the dashboard: `dist/dashboard` at the top of this checkout or
 * package, found from this file whether it runs from source or bundled into a command (dist/bin/aof.js).
 */
export function defaultDashboardDir(): string | undefined {
  let folder = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(folder, 'dist', 'dashboard');
    if (existsSync(join(candidate, 'index.html')) && statSync(candidate).isDirectory()) return candidate;
    const parent = dirname(folder);
    if (parent === folder) return undefined;
    folder = parent;
  }
}
