// Contact shapes: seed 003's EmailContacts field names (snake_case) on /contacts and /api/v1/contacts alike.
import { Type, type Static } from 'typebox'
import { CONTACT_STATUSES, type ContactStatus } from './contacts.constants.ts'

const NullableString = (options: Parameters<typeof Type.String>[0] = {}) => Type.Union([Type.String(options), Type.Null()])

export const ContactStatusSchema = Type.Unsafe<ContactStatus>({
  type: 'string',
  enum: [...CONTACT_STATUSES],
  description: 'Only subscribed contacts are sent campaigns',
})

// Email is checked by the service (422 INVALID_EMAIL, like campaign recipients), not by a schema format (400).
const EmailField = Type.String({ minLength: 1, maxLength: 320, description: 'Stored trimmed and lower-cased; unique per tenant' })
const NameField = NullableString({ maxLength: 200 })

export const AttributesSchema = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]), {
  description: 'Extra template variables of this contact (CSV columns other than the known ones land here)',
})

export const ContactSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  first_name: Type.Union([Type.String(), Type.Null()]),
  last_name: Type.Union([Type.String(), Type.Null()]),
  company: Type.Union([Type.String(), Type.Null()]),
  status: ContactStatusSchema,
  attributes: AttributesSchema,
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
  last_email_sent: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the last campaign email went out' }),
  last_campaign: Type.Union([Type.String(), Type.Null()], { description: 'The campaign of that email' }),
  email_count: Type.Integer({ description: 'Campaign emails sent to this contact' }),
})
export type Contact = Static<typeof ContactSchema>

export const CreateContactBodySchema = Type.Object({
  email: EmailField,
  first_name: Type.Optional(NameField),
  last_name: Type.Optional(NameField),
  company: Type.Optional(NameField),
  status: Type.Optional(ContactStatusSchema),
  attributes: Type.Optional(AttributesSchema),
}, { additionalProperties: false })
export type CreateContactBody = Static<typeof CreateContactBodySchema>

export const UpdateContactBodySchema = Type.Object({
  email: Type.Optional(EmailField),
  first_name: Type.Optional(NameField),
  last_name: Type.Optional(NameField),
  company: Type.Optional(NameField),
  status: Type.Optional(ContactStatusSchema),
  attributes: Type.Optional(AttributesSchema),
}, { additionalProperties: false, minProperties: 1, description: 'Only the fields given change; attributes are replaced whole' })
export type UpdateContactBody = Static<typeof UpdateContactBodySchema>

export const ContactParamsSchema = Type.Object({ id: Type.String({ format: 'uuid', description: 'Contact id' }) })

export const ListContactsQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'next_cursor of the previous page' })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 320, description: 'Case-insensitive prefix of the email, first name or last name' })),
  status: Type.Optional(ContactStatusSchema),
})
export type ListContactsQuery = Static<typeof ListContactsQuerySchema>

export const ContactListSchema = Type.Object({
  contacts: Type.Array(ContactSchema),
  count: Type.Integer({ description: 'Contacts in this page' }),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last page' }),
})
export type ContactList = Static<typeof ContactListSchema>

/** Seed 003's EmailContacts item, field for field. */
export const SeedContactSchema = Type.Object({
  email: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
  company: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  last_email_sent: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  last_campaign: Type.Union([Type.String(), Type.Null()]),
  email_count: Type.Integer(),
})
export type SeedContact = Static<typeof SeedContactSchema>

export const SeedContactListSchema = Type.Object({
  contacts: Type.Array(SeedContactSchema),
  count: Type.Integer({ description: 'Contacts in this response' }),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Set when the tenant has more contacts than limit' }),
})

export const SeedContactListQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
})

export const SeedCreateContactBodySchema = Type.Object({
  email: EmailField,
  first_name: Type.Optional(Type.String({ maxLength: 200 })),
  last_name: Type.Optional(Type.String({ maxLength: 200 })),
  company: Type.Optional(Type.String({ maxLength: 200 })),
})
export type SeedCreateContactBody = Static<typeof SeedCreateContactBodySchema>

export const SeedContactSavedSchema = Type.Object({
  message: Type.String(),
  contact: SeedContactSchema,
})

export const ImportResultSchema = Type.Object({
  imported: Type.Integer({ description: 'New contacts' }),
  updated: Type.Integer({ description: 'Existing contacts whose fields the file changed' }),
  skipped: Type.Integer({ description: 'Rows not written (each has an entry in errors, up to the first 1000)' }),
  errors: Type.Array(Type.Object({
    row: Type.Integer({ description: 'Line of the file the row is on (the header is line 1)' }),
    email: Type.Union([Type.String(), Type.Null()]),
    message: Type.String(),
  })),
})
export type ImportResult = Static<typeof ImportResultSchema>

export const ImportQuerySchema = Type.Object({
  delimiter: Type.Optional(Type.Union([Type.Literal(','), Type.Literal(';'), Type.Literal('\t')], { description: 'Field separator; comma by default' })),
})
export type ImportQuery = Static<typeof ImportQuerySchema>
