// The instance catalog the language server compares a requirement with, and how rare each feature is in it: the
// shipped one is parsed on first use, not while the server starts; a catalog file the settings name, when they name it.

import { defaultCatalog, isNativeError, loadCatalog, type Catalog } from '../../native/src';
import { catalogRarity, type Rarity } from './presentation';

export class CatalogState {
  private state?: { catalog: Catalog; rarity: Rarity };
  /** The catalog file in use; undefined: the shipped catalog. */
  private file?: string;

  get catalog(): Catalog {
    return this.current().catalog;
  }

  get rarity(): Rarity {
    return this.current().rarity;
  }

  /**
   * Loads the catalog at `file` now, so that a bad file is reported at once; on failure keeps the shipped one and says
   * why. Undefined: the shipped catalog, parsed on first use.
   */
  load(file: string | undefined): string | undefined {
    if (!file) {
      if (this.file !== undefined) this.state = undefined;
      this.file = undefined;
      return undefined;
    }
    this.file = file;
    let catalog: Catalog;
    let error: string | undefined;
    try {
      catalog = loadCatalog(file);
    } catch (e) {
      catalog = defaultCatalog();
      error = isNativeError(e) ? e.describe() : String(e);
    }
    this.state = { catalog, rarity: catalogRarity(catalog) };
    return error;
  }

  private current(): { catalog: Catalog; rarity: Rarity } {
    if (!this.state) {
      const catalog = defaultCatalog();
      this.state = { catalog, rarity: catalogRarity(catalog) };
    }
    return this.state;
  }
}
