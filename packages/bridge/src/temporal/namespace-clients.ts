import type { Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { CauseKeepingCompletionClient } from './completion-client';

/** A completion client per allowed namespace, and the namespace ids that task tokens carry. */
export class NamespaceClients {
  private readonly byName = new Map<string, CauseKeepingCompletionClient>();
  private readonly nameById = new Map<string, string>();
  private readonly idByName = new Map<string, string>();

  private constructor(
    readonly connection: Connection,
    readonly allowed: readonly string[],
  ) {}

  /** Resolves each namespace's id (task tokens name namespaces by id) and builds its client. */
  static async create(
    connection: Connection,
    allowedNamespaces: readonly string[],
    dataConverter: DataConverter | undefined,
    identity: string,
  ): Promise<NamespaceClients> {
    const clients = new NamespaceClients(connection, allowedNamespaces);
    for (const namespace of allowedNamespaces) {
      const described = await connection.workflowService.describeNamespace({ namespace });
      const id = described.namespaceInfo?.id;
      if (id) {
        clients.nameById.set(id, namespace);
        clients.idByName.set(namespace, id);
      }
      clients.byName.set(
        namespace,
        new CauseKeepingCompletionClient({ connection, namespace, dataConverter, identity }),
      );
    }
    return clients;
  }

  /** The namespace name for a token's namespace id, or undefined when it is not an allowed namespace. */
  namespaceOfId(namespaceId: string): string | undefined {
    return this.nameById.get(namespaceId);
  }

  /** The id of an allowed namespace (what task tokens carry), or undefined when it is not allowed. */
  idOfNamespace(namespace: string): string | undefined {
    return this.idByName.get(namespace);
  }

  client(namespace: string): CauseKeepingCompletionClient | undefined {
    return this.byName.get(namespace);
  }
}
