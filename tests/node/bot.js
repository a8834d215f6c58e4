// A real Minecraft 26.1 client (mineflayer, an independent codec) driven by the Rust tests.
//
// usage: node bot.js HOST PORT USERNAME
// stdout: one JSON object per line, {"event": ...}
// stdin:  one JSON command per line: {"cmd": "chat", "text": "hello"} | {"cmd": "entities"}
//         | {"cmd": "position"} | {"cmd": "block", "x": 0, "y": 63, "z": 0} | {"cmd": "quit"}
'use strict'
const readline = require('readline')
const mineflayer = require('mineflayer')

const [host, port, username] = process.argv.slice(2)
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n')

const bot = mineflayer.createBot({
  host,
  port: Number(port),
  username,
  version: '26.1',
  auth: 'offline',
  hideErrors: true,
  checkTimeoutInterval: 60 * 1000
})

// Packets whose every occurrence a test may want to count (mineflayer hides duplicates).
const WATCHED = new Set(['login', 'respawn', 'start_configuration', 'spawn_entity', 'entity_destroy', 'kick_disconnect'])
bot._client.on('packet', (data, meta) => {
  if (meta.state === 'play' && WATCHED.has(meta.name)) {
    const o = { event: 'packet', name: meta.name }
    if (meta.name === 'spawn_entity') Object.assign(o, { id: data.entityId, type: data.type, x: data.x, y: data.y, z: data.z })
    if (meta.name === 'entity_destroy') o.ids = data.entityIds
    if (meta.name === 'login') o.entityId = data.entityId
    emit(o)
  }
})

bot.once('spawn', () => {
  const p = bot.entity.position
  emit({ event: 'spawn', entityId: bot.entity.id, x: p.x, y: p.y, z: p.z, health: bot.health })
})
bot.on('messagestr', (text, position) => emit({ event: 'chat', text, position }))
bot.on('kicked', (reason) => emit({ event: 'kicked', reason: typeof reason === 'string' ? reason : JSON.stringify(reason) }))
bot.on('error', (e) => emit({ event: 'error', message: String(e && e.message) }))
bot.on('end', (reason) => {
  emit({ event: 'end', reason: String(reason) })
  process.exit(0)
})

const commands = {
  chat: (c) => bot.chat(c.text),
  entities: () => emit({
    event: 'entities',
    entities: Object.values(bot.entities)
      .filter((e) => e !== bot.entity)
      .map((e) => ({ id: e.id, name: e.name, x: e.position.x, y: e.position.y, z: e.position.z }))
  }),
  position: () => {
    const p = bot.entity.position
    emit({ event: 'position', x: p.x, y: p.y, z: p.z })
  },
  block: (c) => {
    const b = bot.blockAt(new (require('vec3').Vec3)(c.x, c.y, c.z))
    emit({ event: 'block', name: b ? b.name : null })
  },
  // Walks (sprinting, with mineflayer's physics) to x, z and reports where it stopped.
  walk: (c) => {
    const { Vec3 } = require('vec3')
    const start = bot.entity.position.clone()
    const sign = Math.sign(c.x - start.x) || 1
    bot.lookAt(new Vec3(c.x, start.y + 1.6, c.z), true).then(() => {
      bot.setControlState('sprint', true)
      bot.setControlState('forward', true)
      const onMove = () => {
        const p = bot.entity.position
        if (Math.hypot(p.x - c.x, p.z - c.z) < 0.6 || Math.sign(c.x - p.x) !== sign) {
          bot.clearControlStates()
          bot.removeListener('move', onMove)
          emit({ event: 'arrived', x: p.x, y: p.y, z: p.z })
        }
      }
      bot.on('move', onMove)
    })
  },
  quit: () => bot.quit()
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  let c
  try { c = JSON.parse(line) } catch (e) { return emit({ event: 'error', message: 'bad command: ' + line }) }
  const f = commands[c.cmd]
  if (!f) return emit({ event: 'error', message: 'unknown command: ' + c.cmd })
  try { f(c) } catch (e) { emit({ event: 'error', message: String(e && e.message) }) }
}).on('close', () => process.exit(0))
