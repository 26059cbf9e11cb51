// Template request and response shapes (seed 002's Template Service): camelCase fields like seed 002's campaigns.
import { Type, type Static } from 'typebox'

// Versions are a Postgres integer: a larger number is no version, and must not reach the query as one.
const MAX_VERSION = 2_147_483_647

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()])

export const TEMPLATE_ID_PATTERN = '^tmpl_[0-9a-f]{16}$'

const TemplateContent = {
  subject: Type.Optional(Nullable(Type.String({ maxLength: 998, description: 'Subject line; Handlebars, never HTML-escaped' }))),
  html: Type.Optional(Nullable(Type.String({ maxLength: 1_000_000, description: 'HTML part; variables are HTML-escaped' }))),
  text: Type.Optional(Nullable(Type.String({ maxLength: 1_000_000, description: 'Plain-text part; variables are inserted as they are' }))),
}

/** A campaign's inline `template` (seed 002): validate it with validateTemplate before storing the campaign. */
export const InlineTemplateSchema = Type.Object({
  html: Type.Optional(Type.String({ maxLength: 1_000_000, description: 'HTML part; variables are HTML-escaped' })),
  text: Type.Optional(Type.String({ maxLength: 1_000_000, description: 'Plain-text part' })),
}, { description: 'Handlebars; html or text is required' })
export type InlineTemplate = Static<typeof InlineTemplateSchema>

export const CreateTemplateBodySchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200, description: 'Unique among the tenant\'s templates' }),
  description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
  ...TemplateContent,
}, { additionalProperties: false, description: 'html or text is required' })
export type CreateTemplateBody = Static<typeof CreateTemplateBodySchema>

export const TemplateVersionBodySchema = Type.Object(TemplateContent, {
  additionalProperties: false,
  description: 'The whole content of the new version (parts left out are empty in it); html or text is required',
})
export type TemplateVersionBody = Static<typeof TemplateVersionBodySchema>

export const TemplateParamsSchema = Type.Object({
  id: Type.String({ pattern: TEMPLATE_ID_PATTERN, description: 'Template id, tmpl_…' }),
})

export const TemplateQuerySchema = Type.Object({
  version: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_VERSION, description: 'A past version; the current one when left out' })),
})

export const ListTemplatesQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page' })),
})
export type ListTemplatesQuery = Static<typeof ListTemplatesQuerySchema>

export const TemplateSchema = Type.Object({
  id: Type.String({ description: 'tmpl_ followed by 16 hex digits' }),
  name: Type.String(),
  description: Nullable(Type.String()),
  version: Type.Integer({ description: 'Version shown here' }),
  latestVersion: Type.Integer({ description: 'Newest version; campaigns using the template send this one' }),
  subject: Nullable(Type.String()),
  html: Nullable(Type.String()),
  text: Nullable(Type.String()),
  variables: Type.Array(Type.String(), { description: 'Variables the template reads from the root of its data' }),
  created: Type.String({ format: 'date-time' }),
  updated: Type.String({ format: 'date-time' }),
})
export type Template = Static<typeof TemplateSchema>

export const TemplateListSchema = Type.Object({
  templates: Type.Array(TemplateSchema),
  count: Type.Integer({ description: 'Templates in this page' }),
  nextCursor: Nullable(Type.String({ description: 'Pass as cursor for the next page; null on the last page' })),
})

export const PreviewBodySchema = Type.Object({
  data: Type.Record(Type.String(), Type.Unknown(), { default: {}, description: 'Sample variables, e.g. {"firstName":"John"}' }),
  version: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_VERSION })),
}, { additionalProperties: false })
export type PreviewBody = Static<typeof PreviewBodySchema>

export const PreviewSchema = Type.Object({
  id: Type.String(),
  version: Type.Integer(),
  subject: Nullable(Type.String()),
  html: Nullable(Type.String()),
  text: Nullable(Type.String()),
})
