// A session's saved conversation goes with the session: the real runtime (executor `none`) deletes
// it with the session, on both backends; other sessions keep theirs. The conversations are put
// there through a second handle on the same store, as a runner's report would.
import assert from 'node:assert/strict';
import { Orchestrator } from '../../sdk/index.js';
import { startRuntime, type RunningRuntime } from '../../servers/runtime/server.js';
import { ConversationFiles } from '../../servers/runtime/store/embedded-conversations.js';
import type { ConversationStore } from '../../servers/runtime/store/interfaces.js';
import { openPostgresStore } from '../../servers/runtime/store/postgres-store.js';
import { STORE_BACKENDS } from '../support/postgres.js';
import { removeDir, tempDir, testLogger } from '../support/servers.js';

for (const backend of STORE_BACKENDS)
  describe(`runtime: deleting a session deletes its conversation (${backend.label})`, () => {
    let dataDir: string;
    let runtime: RunningRuntime;
    let ao: Orchestrator;
    let conversations: ConversationStore;
    let closeConversations: () => Promise<void>;

    before(async () => {
      dataDir = await tempDir('aof-conversation-delete-');
      const databaseUrl = await backend.databaseUrl();
      runtime = await startRuntime({
        url: new URL('http://127.0.0.1:0'),
        dataDir,
        databaseUrl,
        registryUrl: new URL('http://127.0.0.1:9'),
        executor: 'none',
        logger: testLogger('runtime'),
        blueprints: { find: async () => null },
      });
      ao = new Orchestrator({ runtimeUrl: runtime.url, registryUrl: 'http://127.0.0.1:9', token: null });
      if (databaseUrl) {
        const store = await openPostgresStore(databaseUrl);
        conversations = store.conversations;
        closeConversations = () => store.close();
      } else {
        conversations = await ConversationFiles.open(dataDir);
        closeConversations = async () => undefined;
      }
    });
    after(async () => {
      await closeConversations();
      await runtime.close();
      await removeDir(dataDir);
    });

    it("removes the deleted session's conversation and keeps the others'", async () => {
      for (const name of ['talk-kept', 'talk-gone', 'talk-never-saved'])
        await ao.sessions.create({ name, prompt: 'hello' });
      await conversations.save('talk-kept', Buffer.from('kept'));
      await conversations.save('talk-gone', Buffer.from('gone'));
      await ao.sessions.delete('talk-gone');
      await ao.sessions.delete('talk-never-saved');
      assert.equal(await conversations.load('talk-gone'), null);
      assert.equal((await conversations.load('talk-kept'))?.toString(), 'kept');
    });

    it('removes the conversations of a whole tree deleted at once', async () => {
      await ao.sessions.create({ name: 'tree-parent', prompt: 'lead' });
      await ao.sessions.create({ name: 'tree-child', prompt: 'help', parent: 'tree-parent' });
      await conversations.save('tree-parent', Buffer.from('p'));
      await conversations.save('tree-child', Buffer.from('c'));
      await ao.sessions.delete('tree-parent', { tree: true });
      assert.equal(await conversations.load('tree-parent'), null);
      assert.equal(await conversations.load('tree-child'), null);
    });
  });
