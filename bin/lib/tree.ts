/** A session tree (GET /sessions/{name}/tree) walked for the commands that act on a whole tree. */
import type { SessionTree } from '../../sdk/index.js';

/** The tree's sessions, root first, each before the sessions it started. */
export const treeNodes = (node: SessionTree): SessionTree[] => [node, ...node.children.flatMap(treeNodes)];
