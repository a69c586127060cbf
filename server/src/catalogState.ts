// The instance catalog the language server compares a requirement with, and how rare each feature is in it: parsed
// on first use (the settings load it after the initialize answer), not while the server starts.

import { defaultCatalog, isNativeError, loadCatalog, type Catalog } from '../../native/src';
import { catalogRarity, type Rarity } from './presentation';

export class CatalogState {
  private state?: { catalog: Catalog; rarity: Rarity };

  get catalog(): Catalog {
    return this.current().catalog;
  }

  get rarity(): Rarity {
    return this.current().rarity;
  }

  /** Loads the catalog at `file` (the shipped one when undefined); on failure keeps the shipped one and says why. */
  load(file: string | undefined): string | undefined {
    let catalog: Catalog;
    let error: string | undefined;
    try {
      catalog = file ? loadCatalog(file) : defaultCatalog();
    } catch (e) {
      catalog = defaultCatalog();
      error = isNativeError(e) ? e.describe() : String(e);
    }
    this.state = { catalog, rarity: catalogRarity(catalog) };
    return error;
  }

  private current(): { catalog: Catalog; rarity: Rarity } {
    if (!this.state) this.load(undefined);
    return this.state!;
  }
}
