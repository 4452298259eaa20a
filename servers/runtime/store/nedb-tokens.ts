import type Datastore from 'nedb-promises';
import { openCollection } from '../../common/storage/data-dir.js';
import type { StoredToken, TokenStore } from './interfaces.js';

type TokenDocument = StoredToken & { _id: string };

/** People's named tokens in one nedb file of the data dir (`tokens.db`), keyed by name. */
export class NedbTokenStore implements TokenStore {
  private constructor(private readonly db: Datastore<TokenDocument>) {}

  static async open(dataDir: string): Promise<NedbTokenStore> {
    return new NedbTokenStore(await openCollection<TokenDocument>(dataDir, 'tokens.db', [{ fieldName: 'hash' }]));
  }

  async list(): Promise<StoredToken[]> {
    const found = await this.db.find({}).sort({ _id: 1 });
    return found.map(({ _id, ...token }) => token);
  }

  async findByHash(hash: string): Promise<StoredToken | null> {
    const found = await this.db.findOne({ hash });
    if (!found) return null;
    const { _id, ...token } = found;
    return token;
  }

  async insert(token: StoredToken): Promise<boolean> {
    try {
      await this.db.insert({ ...token, _id: token.name });
      return true;
    } catch (error) {
      if ((error as { errorType?: string }).errorType === 'uniqueViolated') return false;
      throw error;
    }
  }

  async delete(name: string): Promise<boolean> {
    return (await this.db.remove({ _id: name }, {})) > 0;
  }
}
