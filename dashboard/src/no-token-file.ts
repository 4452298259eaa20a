// The browser has no data dir to read a token from: the SDK's token-file lookup (sdk/token-file.ts)
// is replaced by this in the dashboard's build (vite.config.ts).
export const TOKEN_FILE = 'api-token';
export const dataDirOf = (): undefined => undefined;
export const tokenFromFile = (): undefined => undefined;
