import { SearchRequestError, type SearchBulkClient } from './search.client.js';

export interface IndexTemplate {
  readonly name: string;
  readonly body: Record<string, unknown>;
}

// Above Elasticsearch's built-in `logs-*-*` / `traces-*-*` templates (priority 100), so ours decides.
const PRIORITY = 200;
// Bumped whenever the mappings change, so `GET _index_template/aio-*` tells which one a cluster has.
const TEMPLATE_VERSION = 1;

const keyword = { type: 'keyword', ignore_above: 1024 } as const;
const text = { type: 'text' } as const;
// Stored in _source for reading, never indexed: their keys are as open-ended as attributes.
const storedOnly = { type: 'object', enabled: false } as const;

const commonProperties = {
  '@timestamp': { type: 'date_nanos' },
  data_stream: { properties: { type: { type: 'keyword' }, dataset: { type: 'keyword' }, namespace: { type: 'keyword' } } },
  trace: { properties: { id: keyword } },
  span: { properties: { id: keyword } },
  service: {
    properties: {
      name: keyword,
      version: keyword,
      environment: keyword,
      node: { properties: { name: keyword } },
    },
  },
  host: { properties: { name: keyword } },
  process: { properties: { pid: { type: 'long' } } },
  error: { properties: { message: text, type: keyword, stack_trace: { type: 'text', index: false } } },
  labels: { type: 'object', dynamic: true },
  numeric_labels: { type: 'object', dynamic: true },
};

const dynamicTemplates = [
  { labels_as_keyword: { path_match: 'labels.*', mapping: keyword } },
  { numeric_labels_as_double: { path_match: 'numeric_labels.*', mapping: { type: 'double' } } },
  { strings_as_keyword: { match_mapping_type: 'string', mapping: keyword } },
];

/** Composable templates that turn `traces-aio-*` and `logs-aio-*` into data streams with ECS mappings. */
export function indexTemplates(): IndexTemplate[] {
  return [
    {
      name: 'aio-traces',
      body: {
        index_patterns: ['traces-aio-*'],
        data_stream: {},
        priority: PRIORITY,
        version: TEMPLATE_VERSION,
        _meta: { managed_by: '@aio/telemetry' },
        template: {
          mappings: {
            dynamic_templates: dynamicTemplates,
            properties: {
              ...commonProperties,
              span: {
                properties: {
                  id: keyword,
                  name: keyword,
                  kind: keyword,
                  events: storedOnly,
                  links: storedOnly,
                },
              },
              parent: { properties: { id: keyword } },
              transaction: { properties: { id: keyword } },
              event: { properties: { duration: { type: 'long' }, outcome: keyword } },
            },
          },
        },
      },
    },
    {
      name: 'aio-logs',
      body: {
        index_patterns: ['logs-aio-*'],
        data_stream: {},
        priority: PRIORITY,
        version: TEMPLATE_VERSION,
        _meta: { managed_by: '@aio/telemetry' },
        template: {
          mappings: {
            dynamic_templates: dynamicTemplates,
            properties: {
              ...commonProperties,
              message: text,
              log: { properties: { level: keyword, logger: keyword } },
              event: { properties: { action: keyword } },
            },
          },
        },
      },
    },
  ];
}

/**
 * Installs the templates once. Exporters await `ensure()` before their first bulk: a `create` into a
 * data-stream name with no matching template makes a plain index that no later template can convert.
 */
export class TemplateInstaller {
  #installed: Promise<void> | undefined;

  constructor(
    private readonly client: Pick<SearchBulkClient, 'putIndexTemplate'>,
    /** Called when the engine refuses a template for good (permissions, an incompatible mapping). */
    private readonly onRefused: (template: string, error: Error) => void,
    private readonly templates: readonly IndexTemplate[] = indexTemplates(),
  ) {}

  /**
   * Resolves once every template is in place. A transient failure is forgotten so the next call tries
   * again; a permanent refusal is reported once and then telemetry is shipped anyway, because
   * documents in an unmanaged index beat no documents.
   */
  ensure(): Promise<void> {
    this.#installed ??= Promise.all(this.templates.map((template) => this.#install(template))).then(
      () => undefined,
      (error: unknown) => {
        this.#installed = undefined;
        throw error;
      },
    );
    return this.#installed;
  }

  async #install(template: IndexTemplate): Promise<void> {
    try {
      await this.client.putIndexTemplate(template.name, template.body);
    } catch (error) {
      if (error instanceof SearchRequestError && !error.retryable) {
        this.onRefused(template.name, error);
        return;
      }
      throw error;
    }
  }
}
