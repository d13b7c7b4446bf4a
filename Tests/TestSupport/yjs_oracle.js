#!/usr/bin/env node
// Yjs oracle for the ysync tests: Debian's real Yjs 13.5 (node-yjs, node-lib0) driven over JSON
// lines, one request object per line on stdin, one reply object per line on stdout.
//
// Run: NODE_PATH=/usr/share/nodejs node yjs_oracle.js [--max-seconds 600]
//
// It holds named documents ("doc": NAME, default "a"). Positions are UTF-16 units (as Yjs). Bytes
// are hex. Every editing command runs in one transaction and replies with "updates" and
// "updatesV2": the hex of every update / updateV2 event the document emitted meanwhile.
// Targets and ops are those of pycrdt_peer.py:
//   "target": {"root": NAME, "kind": "text"|"map"|"array", "path": [key or index, ...]}
//
// Requests (replies have "ok": true|false; errors carry "error"):
//   {"op":"new","doc":D,"client_id":N,"gc":true}
//   {"op":"text_insert","target":T,"index":I,"text":S}      {"op":"text_delete","target":T,"index":I,"count":C}
//   {"op":"map_set","target":T,"key":K,"value":V}           V: JSON, or {"$bytes":"hex"} (a Uint8Array)
//   {"op":"map_set_type","target":T,"key":K,"kind":KIND}    {"op":"map_delete","target":T,"key":K}
//   {"op":"array_insert","target":T,"index":I,"values":[V...]}
//   {"op":"array_insert_type","target":T,"index":I,"kind":KIND}
//   {"op":"array_delete","target":T,"index":I,"count":C}
//   {"op":"apply","update":HEX,"v2":bool}                   -> updates/updatesV2 it caused
//   {"op":"state","v2":bool,"sv":HEX?}                      -> {"update"} encodeStateAsUpdate(V2)
//   {"op":"state_vector"}                                   -> {"sv"}
//   {"op":"content","roots":{NAME:KIND}}                    -> {"content"} (toJSON of each root)
//   {"op":"merge","updates":[HEX],"v2":bool}                -> {"update"} mergeUpdates(V2)
//   {"op":"diff","update":HEX,"sv":HEX,"v2":bool}           -> {"update"} diffUpdate(V2)
//   {"op":"sv_from_update","update":HEX,"v2":bool}          -> {"sv"} encodeStateVectorFromUpdate(V2)
//   {"op":"convert","update":HEX,"to":"v1"|"v2"}            -> {"update"} convertUpdateFormat...
//   {"op":"ping"}, {"op":"quit"}
//
// Delete-set order: Yjs 13.5.43 writes delete-set clients in map insertion order; Yjs >= 13.5.47
// (and ysync, spec 3.7) writes them descending. Every update this bridge returns has its delete
// set re-written with clients descending (ranges untouched), using Yjs' own snapshot encoders to
// write it; the rest of the bytes are Yjs' own. "raw": true in a request turns this off.
'use strict'

const Y = require('yjs')
const readline = require('readline')

const maxArg = process.argv.indexOf('--max-seconds')
const maxSeconds = maxArg >= 0 ? Number(process.argv[maxArg + 1]) : 600
setTimeout(() => { process.stderr.write(`yjs_oracle: --max-seconds ${maxSeconds} reached\n`); process.exit(2) },
  maxSeconds * 1000).unref()

const fromHex = (h) => {
  if (typeof h !== 'string' || h.length % 2 !== 0 || /[^0-9a-fA-F]/.test(h)) throw new Error('bad hex')
  return Uint8Array.from(Buffer.from(h, 'hex'))
}
const toHex = (u) => Buffer.from(u).toString('hex')

const endsWith = (u, tail) => {
  if (tail.length > u.length) return false
  for (let i = 0; i < tail.length; i++) if (u[u.length - tail.length + i] !== tail[i]) return false
  return true
}

// The delete set of `u` re-written with clients descending (see the header).
function canonical (u, v2) {
  const { ds } = v2 ? Y.decodeUpdateV2(u) : Y.decodeUpdate(u)
  const encode = (set) => {
    const b = v2 ? Y.encodeSnapshotV2(Y.createSnapshot(set, new Map())) : Y.encodeSnapshot(Y.createSnapshot(set, new Map()))
    return b.subarray(0, b.length - 1) // drop the empty state vector (one byte, 0)
  }
  const original = encode(ds)
  if (!endsWith(u, original)) throw new Error('canonical: the update does not end with its delete set')
  const sorted = Y.createDeleteSet()
  Array.from(ds.clients.keys()).sort((a, b) => b - a).forEach((c) => sorted.clients.set(c, ds.clients.get(c)))
  const head = u.subarray(0, u.length - original.length)
  const tail = encode(sorted)
  const out = new Uint8Array(head.length + tail.length)
  out.set(head, 0)
  out.set(tail, head.length)
  return out
}

const docs = new Map()
function newDoc (name, clientID, gc) {
  const doc = new Y.Doc({ gc: gc !== false })
  if (clientID !== undefined && clientID !== null) doc.clientID = Number(clientID)
  const entry = { doc, updates: [], updatesV2: [] }
  doc.on('update', (u) => entry.updates.push(u))
  doc.on('updateV2', (u) => entry.updatesV2.push(u))
  docs.set(name, entry)
  return entry
}
function getDoc (req) {
  const name = req.doc || 'a'
  const e = docs.get(name)
  if (!e) throw new Error(`no document named ${name}`)
  return e
}

const KINDS = { text: Y.Text, map: Y.Map, array: Y.Array }
function resolve (doc, target, want) {
  const kind = target.kind || 'text'
  if (!KINDS[kind]) throw new Error(`bad kind ${kind}`)
  let obj = doc.get(target.root, KINDS[kind])
  for (const step of target.path || []) {
    if (typeof step === 'string') {
      if (!(obj instanceof Y.Map)) throw new Error(`path step ${step} applied to a non-map`)
      obj = obj.get(step)
    } else if (typeof step === 'number') {
      if (!(obj instanceof Y.Array)) throw new Error(`path step ${step} applied to a non-array`)
      obj = obj.get(step)
    } else throw new Error('bad path step')
  }
  if (want && !(obj instanceof KINDS[want])) throw new Error(`target is not a ${want}`)
  return obj
}
const value = (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 &&
  typeof v.$bytes === 'string') ? fromHex(v.$bytes) : v
const newType = (kind) => { const T = KINDS[kind]; if (!T) throw new Error(`bad kind ${kind}`); return new T() }

function render (v) {
  if (v instanceof Uint8Array) return { $bytes: toHex(v) }
  if (v instanceof Y.Text) return v.toString()
  if (v instanceof Y.Map) { const o = {}; v.forEach((x, k) => { o[k] = render(x) }); return o }
  if (v instanceof Y.Array) return v.toArray().map(render)
  if (Array.isArray(v)) return v.map(render)
  if (v !== null && typeof v === 'object') { const o = {}; for (const k of Object.keys(v)) o[k] = render(v[k]); return o }
  return v === undefined ? null : v
}

function handle (req) {
  const op = req.op
  const fix = (u, v2) => (req.raw ? u : canonical(u, v2))
  if (op === 'ping') return {}
  if (op === 'new') { newDoc(req.doc || 'a', req.client_id, req.gc); return {} }
  // doc-less algebra
  if (op === 'merge') {
    const ups = req.updates.map(fromHex)
    return { update: toHex(fix(req.v2 ? Y.mergeUpdatesV2(ups) : Y.mergeUpdates(ups), req.v2)) }
  }
  if (op === 'diff') {
    const u = fromHex(req.update), sv = fromHex(req.sv)
    return { update: toHex(fix(req.v2 ? Y.diffUpdateV2(u, sv) : Y.diffUpdate(u, sv), req.v2)) }
  }
  if (op === 'sv_from_update') {
    const u = fromHex(req.update)
    return { sv: toHex(req.v2 ? Y.encodeStateVectorFromUpdateV2(u) : Y.encodeStateVectorFromUpdate(u)) }
  }
  if (op === 'convert') {
    const u = fromHex(req.update)
    if (req.to === 'v2') return { update: toHex(fix(Y.convertUpdateFormatV1ToV2(u), true)) }
    if (req.to === 'v1') return { update: toHex(fix(Y.convertUpdateFormatV2ToV1(u), false)) }
    throw new Error(`bad target format ${req.to}`)
  }
  const e = getDoc(req)
  const d = e.doc
  if (op === 'state') {
    const sv = req.sv !== undefined ? fromHex(req.sv) : undefined
    const u = req.v2 ? Y.encodeStateAsUpdateV2(d, sv) : Y.encodeStateAsUpdate(d, sv)
    return { update: toHex(fix(u, req.v2)) }
  }
  if (op === 'state_vector') return { sv: toHex(Y.encodeStateVector(d)) }
  if (op === 'content') {
    const out = {}
    for (const [name, kind] of Object.entries(req.roots)) out[name] = render(d.get(name, KINDS[kind]))
    return { content: out }
  }
  e.updates = []
  e.updatesV2 = []
  const t = req.target
  switch (op) {
    case 'apply': {
      const u = fromHex(req.update)
      if (req.v2) Y.applyUpdateV2(d, u); else Y.applyUpdate(d, u)
      break
    }
    case 'text_insert': d.transact(() => resolve(d, t, 'text').insert(req.index, req.text)); break
    case 'text_delete': d.transact(() => resolve(d, t, 'text').delete(req.index, req.count)); break
    case 'map_set': d.transact(() => resolve(d, t, 'map').set(req.key, value(req.value))); break
    case 'map_set_type': d.transact(() => resolve(d, t, 'map').set(req.key, newType(req.kind))); break
    case 'map_delete': d.transact(() => resolve(d, t, 'map').delete(req.key)); break
    case 'array_insert': d.transact(() => resolve(d, t, 'array').insert(req.index, req.values.map(value))); break
    case 'array_insert_type': d.transact(() => resolve(d, t, 'array').insert(req.index, [newType(req.kind)])); break
    case 'array_delete': d.transact(() => resolve(d, t, 'array').delete(req.index, req.count)); break
    default: throw new Error(`unknown op ${op}`)
  }
  return { updates: e.updates.map((u) => toHex(fix(u, false))), updatesV2: e.updatesV2.map((u) => toHex(fix(u, true))) }
}

newDoc('a', null, true)
const rl = readline.createInterface({ input: process.stdin, terminal: false })
rl.on('line', (line) => {
  if (line.trim() === '') return
  let reply
  try {
    const req = JSON.parse(line)
    if (req.op === 'quit') {
      process.stdout.write(JSON.stringify({ ok: true, bye: true }) + '\n', () => process.exit(0))
      return
    }
    reply = Object.assign({ ok: true }, handle(req))
  } catch (err) {
    reply = { ok: false, error: String(err && err.message ? err.message : err), trace: err && err.stack ? String(err.stack) : undefined }
  }
  process.stdout.write(JSON.stringify(reply) + '\n')
})
rl.on('close', () => process.exit(0))
