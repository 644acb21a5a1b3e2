/** A parsed Avro schema (JSON form). */
export type AvroSchemaJson = Record<string, unknown>;

/** Folder holding the .avsc files and golden vectors. */
export declare const schemasDir: string;
export declare const schemaNames: readonly ['ActivityTaskRequest', 'ActivityTaskResponse', 'ActivityCancelNotice'];
export declare const ActivityTaskRequest: AvroSchemaJson;
export declare const ActivityTaskResponse: AvroSchemaJson;
export declare const ActivityCancelNotice: AvroSchemaJson;
