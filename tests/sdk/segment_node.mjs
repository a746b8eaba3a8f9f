#!/usr/bin/env node
// Sends all six event types to Weir with Segment's Node library (@segment/analytics-node,
// pinned in package.json / package-lock.json; install with `npm ci --prefix tests/sdk`).
//
// Usage: node segment_node.mjs HOST WRITE_KEY RUN_ID
//
// HOST is Weir's base URL (http://127.0.0.1:2022); the library appends /v1/batch. RUN_ID makes
// the messageIds (<RUN_ID>-<type>) and ids unique, and is repeated in every event's properties
// or traits so tests/it/sdk.rs can find the events in the log.
//
// The client is configured only with the write key and the host (plus fewer retries, which
// change nothing on the wire); closeAndFlush() sends the queued events as one POST /v1/batch
// with HTTP Basic auth, `writeKey` in the body and no gzip.
//
// Exit status: 0 when every event was delivered, 1 on any delivery error reported by the
// library, 2 on a usage error, 3 when the library is not installed. With WEIR_SDK_REPORT=1 the
// requests also ask for Weir's `Weir-Report` (a diagnostic; it adds one header) and the
// responses' bodies are printed to stderr.

let Analytics
try {
  ;({ Analytics } = await import('@segment/analytics-node'))
} catch (error) {
  console.error(`missing: @segment/analytics-node (${error.message})`)
  process.exit(3)
}

const args = process.argv.slice(2)
if (args.length !== 3) {
  console.error('usage: node segment_node.mjs HOST WRITE_KEY RUN_ID')
  process.exit(2)
}
const [host, writeKey, run] = args

const settings = { writeKey, host, maxRetries: 2 }
if (process.env.WEIR_SDK_REPORT === '1') {
  // A fetch wrapper that adds the diagnostic header and prints Weir's report.
  settings.httpClient = async (url, init) => {
    const response = await fetch(url, {
      ...init,
      headers: { ...init.headers, 'Weir-Report': 'true' },
    })
    console.error(`report: ${await response.clone().text()}`)
    return response
  }
}
const analytics = new Analytics(settings)

const errors = []
analytics.on('error', (error) => {
  errors.push(error)
  console.error(`delivery error: ${error.code}: ${error.reason}`)
})
analytics.on('http_response', (response) => {
  console.error(`POST ${response.url} -> ${response.status} ${response.statusText}`)
})

// Each call's callback says whether its event was delivered.
const delivered = []
const done = (type) => (error) => {
  if (error) {
    console.error(`${type} not delivered: ${error}`)
  } else {
    delivered.push(type)
  }
}

const userId = `user-${run}`
const anonymousId = `anon-${run}`
const context = {
  app: { name: 'weir-sdk-test', version: '1.2.3' },
  locale: 'it-IT',
  timezone: 'Europe/Rome',
  ip: '203.0.113.7',
}

analytics.identify(
  {
    userId,
    anonymousId,
    traits: { run, email: 'ada@example.com', name: 'Ada', plan: 'pro' },
    context: { locale: 'en-GB' },
    messageId: `${run}-identify`,
  },
  done('identify')
)
analytics.track(
  {
    userId,
    event: 'Order Completed',
    properties: { run, revenue: 12.5, currency: 'EUR', items: [{ sku: 'A-1', qty: 2 }] },
    context: { ...context, traits: { plan: 'pro' } },
    timestamp: new Date('2024-01-02T03:04:05Z'),
    messageId: `${run}-track`,
  },
  done('track')
)
analytics.page(
  {
    userId,
    category: 'Docs',
    name: 'Pricing',
    properties: { run, url: 'https://example.com/pricing', path: '/pricing' },
    context: {
      page: { url: 'https://example.com/pricing', path: '/pricing', title: 'Pricing' },
    },
    messageId: `${run}-page`,
  },
  done('page')
)
analytics.screen(
  {
    userId,
    category: 'Mobile',
    name: 'Home',
    properties: { run, tab: 'feed' },
    context: {
      os: { name: 'ios', version: '17.4' },
      screen: { width: 390, height: 844, density: 3 },
    },
    messageId: `${run}-screen`,
  },
  done('screen')
)
analytics.group(
  {
    userId,
    groupId: `org-${run}`,
    traits: { run, name: 'Acme', employees: 42 },
    messageId: `${run}-group`,
  },
  done('group')
)
analytics.alias({ userId, previousId: anonymousId, messageId: `${run}-alias` }, done('alias'))

await analytics.closeAndFlush({ timeout: 10000 })

if (errors.length > 0 || delivered.length !== 6) {
  console.error(`delivered ${delivered.length} of 6 events (${delivered.join(', ')})`)
  process.exit(1)
}
console.log('delivered 6 events')
