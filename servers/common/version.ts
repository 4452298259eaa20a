/** The version of aof, reported by the servers and the MCP servers. */
export const VERSION = '0.1.0';
