/**
 * The README's recipes for the `custom` source (inside `sources.custom`), as the README gives them: each
 * delivers to one 2Chat account; a test that needs all four accounts widens `deliverTo`.
 */
export const RECIPES = {
  elementor: {
    deliverTo: ['twochat'],
    defaultRegion: 'DE',
    custom: {
      fields: {
        fullName: '/fields[name][value]',
        email: '/fields[email][value]',
        phone: '/fields[phone][value]',
        attributes: { message: '/fields[message][value]', page: '/meta[page_url][value]', form: '/form[name]' },
      },
    },
  },
  'gravity-forms': {
    deliverTo: ['twochat'],
    defaultRegion: 'US',
    custom: {
      fields: {
        firstName: '/1.3',
        lastName: '/1.6',
        email: '/2',
        phone: '/3',
        country: '/4.6',
        attributes: { message: '/5', page: '/source_url' },
      },
      eventId: '/id',
    },
  },
  wpforms: {
    deliverTo: ['twochat'],
    defaultRegion: 'US',
    tags: ['wpforms'],
    custom: {
      fields: {
        firstName: '/first_name',
        lastName: '/last_name',
        email: '/email',
        phone: '/phone',
        tags: '/interests',
        attributes: { plan: '/plan' },
      },
      eventId: '/entry_id',
    },
  },
  hubspot: {
    deliverTo: ['twochat'],
    custom: {
      fields: {
        firstName: '/firstname',
        lastName: '/lastname',
        email: '/email',
        phone: '/phone',
        country: '/country',
        attributes: { hubspot_id: '/hs_object_id', lifecycle_stage: '/lifecyclestage' },
      },
    },
  },
  'hubspot-signed': {
    deliverTo: ['twochat'],
    custom: {
      fields: { firstName: '/firstname', lastName: '/lastname', email: '/email', phone: '/phone', country: '/country' },
      signature: {
        header: 'X-HubSpot-Signature-v3',
        encoding: 'base64',
        timestampHeader: 'X-HubSpot-Request-Timestamp',
        signedString: 'POSThttps://hooks.example.com/hooks/custom/hubspot-signed{body}{timestamp}',
      },
    },
  },
  wix: {
    deliverTo: ['twochat'],
    custom: {
      fields: {
        firstName: '/contact/firstName',
        lastName: '/contact/lastName',
        email: '/contact/email',
        phone: '/contact/phone',
        attributes: { message: '/message', form: '/formName' },
      },
      eventId: '/submissionId',
    },
  },
};
