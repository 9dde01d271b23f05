-- ------------------------------------------------------------------ runtime
-- The fixed interpreter of the tables above.

local p_cap = Proto("ustref.capture", "ustref capture record")
local p_consumer = Proto("lttcomm.consumer", "LTTng session daemon <-> consumer daemon")
local p_relayd = Proto("lttcomm.relayd", "LTTng consumer daemon <-> relay daemon")
local p_viewer = Proto("lttng.viewer", "LTTng live viewer <-> relay daemon")

local fc = {
  socket = ProtoField.uint8("ustref.capture.socket", "socket", base.DEC, SOCKET_NAMES),
  direction = ProtoField.uint8("ustref.capture.direction", "direction", base.DEC,
    {[0]="sessiond->consumerd", [1]="consumerd->sessiond"}),
  abi = ProtoField.uint8("ustref.capture.abi", "ABI", base.DEC, ABI_NAMES),
  connection = ProtoField.uint16("ustref.capture.connection", "connection", base.DEC),
  fd_count = ProtoField.uint16("ustref.capture.fd_count", "fds", base.DEC),
}
p_cap.fields = fc
local fm = {
  message = ProtoField.string("lttcomm.consumer.message", "message"),
  step = ProtoField.string("lttcomm.consumer.step", "step"),
  exchange = ProtoField.string("lttcomm.consumer.exchange", "exchange"),
  fds = ProtoField.uint16("lttcomm.consumer.fds", "fds"),
  payload = ProtoField.bytes("lttcomm.consumer.payload", "payload"),
  relayd_payload = ProtoField.bytes("lttcomm.relayd.payload", "payload"),
  viewer_payload = ProtoField.bytes("lttng.viewer.payload", "payload"),
  viewer_reply_to = ProtoField.uint32("lttng.viewer.reply_to", "reply to frame"),
}
local all_fields = {}
for _, f in pairs(F) do all_fields[#all_fields + 1] = f end
for _, f in pairs(fm) do all_fields[#all_fields + 1] = f end
p_consumer.fields = all_fields
local ex_malformed = ProtoExpert.new("lttcomm.consumer.malformed", "Malformed message",
  expert.group.MALFORMED, expert.severity.ERROR)
local ex_relayd = ProtoExpert.new("lttcomm.relayd.malformed", "Malformed message",
  expert.group.MALFORMED, expert.severity.ERROR)
p_consumer.experts = {ex_malformed}
p_relayd.experts = {ex_relayd}

-- Dissect one struct: add its fields, fill `vals` (paths as in the conversation table).
local function read_int(tvb, it, off)
  local r = tvb(off + it.o, it.n)
  local v
  if it.n == 8 then
    if it.le then v = it.s and r:le_int64() or r:le_uint64()
    else v = it.s and r:int64() or r:uint64() end
    v = v:tonumber()
  else
    if it.le then v = it.s and r:le_int() or r:le_uint()
    else v = it.s and r:int() or r:uint() end
  end
  return r, v
end

local dissect_items
local function dissect_item(it, tvb, off, tree, vals, problems)
  if it.t == 'int' then
    local r, v = read_int(tvb, it, off)
    if tree then
      if it.le then tree:add_le(it.f, r) else tree:add(it.f, r) end
    end
    vals[it.v] = v
    if it.enum and it.enum[v] == nil then
      problems[#problems + 1] = it.v .. ": " .. tostring(v) .. " is not a value of its enum"
    end
  elseif it.t == 'str' then
    local r = tvb(off + it.o, it.n)
    local bytes = r:bytes()
    local nul = nil
    for i = 0, bytes:len() - 1 do
      if bytes:get_index(i) == 0 then nul = i break end
    end
    if nul == nil then
      if tree then tree:add(it.f, r, "") end
      problems[#problems + 1] = "char[" .. it.n .. "] is not NUL-terminated"
    elseif tree then
      tree:add(it.f, r, nul > 0 and r:raw(0, nul) or "")
    end
  elseif it.t == 'bytes' then
    if tree then tree:add(it.f, tvb(off + it.o, it.n)) end
  elseif it.t == 'flex' then
    local len = tvb:len() - (off + it.o)
    if tree then tree:add(it.f, tvb(off + it.o, len)) end
  elseif it.t == 'struct' then
    local sub = tree and tree:add(tvb(off + it.o, it.n), it.label)
    dissect_items(it.items, tvb, off, sub, vals, problems)
  elseif it.t == 'array' then
    local sub = tree and tree:add(tvb(off + it.o, it.count * it.esz), it.label)
    for i = 0, it.count - 1 do
      dissect_item(it.elem, tvb, off + it.o + i * it.esz, sub, vals, problems)
    end
  elseif it.t == 'union' then
    local arm = it.default
    if it.key ~= nil then
      local k = vals[it.key]
      if k ~= nil and it.cases[k] ~= nil then arm = it.cases[k] end
    end
    if arm == nil then
      if tree then tree:add(it.raw, tvb(off + it.o, it.n)) end
    else
      local a = it.arms[arm]
      local sub = tree and tree:add(tvb(off + it.o, it.n), it.label .. "." .. a.label)
      dissect_items(a.items, tvb, off, sub, vals, problems)
    end
  end
end
dissect_items = function(items, tvb, off, tree, vals, problems)
  for _, it in ipairs(items) do dissect_item(it, tvb, off, tree, vals, problems) end
end

local function dissect_struct(index, tvb, tree, label)
  local s = S[index]
  local sub = tree:add(p_consumer, tvb(), label or s.name)
  local vals, problems = {}, {}
  if tvb:len() < s.size then
    sub:add_proto_expert_info(ex_malformed, s.name .. ": truncated")
    return sub, vals, false
  end
  dissect_items(s.items, tvb, 0, sub, vals, problems)
  for _, p in ipairs(problems) do sub:add_proto_expert_info(ex_malformed, s.name .. ": " .. p) end
  return sub, vals, #problems == 0
end

-- Length of a message of struct `index` from its fixed head (nil: `rest`).
local function message_length(index, ba)
  local s = S[index]
  if s.flex == nil then return s.size end
  if s.flex.rest then return nil end
  if s.flex.o == nil then return s.size + s.flex.a end
  local v = 0
  for i = 0, s.flex.n - 1 do
    local byte = ba:get_index(s.flex.o + (s.flex.le and (s.flex.n - 1 - i) or i))
    v = v * 256 + byte
  end
  return s.size + s.flex.a + s.flex.b * v
end

-- ------------------------------------------------------------------ conversation

local state
local frames
local function reset()
  state = {streams = {}, exch = {}, broken = {}}
  frames = {}
end
reset()

local function stream(sock, dir)
  local key = sock * 2 + dir
  local st = state.streams[key]
  if st == nil then
    st = {data = ByteArray.new(), start = 0, fds = {}}
    state.streams[key] = st
  end
  return st
end

local function take(st, n)
  local chunk = st.data:subset(0, n)
  local rest = st.data:len() - n
  if rest > 0 then st.data = st.data:subset(n, rest) else st.data = ByteArray.new() end
  local begin = st.start
  st.start = st.start + n
  local fds = 0
  for at, c in pairs(st.fds) do
    if at >= begin and at < st.start then fds = fds + c st.fds[at] = nil end
  end
  return chunk, begin, fds
end

local function fds_within(st, n)
  local fds = 0
  for at, c in pairs(st.fds) do
    if at >= st.start and at < st.start + n then fds = fds + c end
  end
  return fds
end

local function holds(cond, values)
  if cond == nil then return true end
  if cond.all then
    for _, c in ipairs(cond.all) do if not holds(c, values) then return false end end
    return true
  end
  local v = values[cond.step]
  if v == nil then return false end
  local x = v[cond.path]
  if x == nil then return false end
  return (x == cond.eq) ~= cond.neg
end

local NEED = {}
local function fail(msg) error({ustref = msg}, 0) end

local function decode_message(sock, step, abi, events, label)
  local st = stream(sock, step.dir)
  local index
  if step.choose then
    if st.data:len() < step.head then error(NEED, 0) end
    local c = step.choose[abi]
    local b = st.data
    local key = b:get_index(0) + b:get_index(1) * 256 + b:get_index(2) * 65536 + b:get_index(3) * 16777216
    index = c.cases[key] or c.default
  else
    index = step.specs[abi]
  end
  local s = S[index]
  if st.data:len() < s.size then error(NEED, 0) end
  local size = message_length(index, st.data)
  if size == nil then size = st.data:len() end
  if st.data:len() < size then error(NEED, 0) end
  if fds_within(st, size) > 0 then fail(step.name .. ": unexpected fd(s) with its bytes") end
  local raw, offset = take(st, size)
  local ev = {sock = sock, dir = step.dir, step = step.name, exchange = label, struct = index,
              raw = raw, offset = offset, fds = 0}
  events[#events + 1] = ev
  return ev
end

local function decode_step(sock, step, ex, abi, events)
  local st = stream(sock, step.dir)
  if step.k == 'msg' then
    local ev = decode_message(sock, step, abi, events, ex.label)
    ex.values[step.name] = ev
    return true
  elseif step.k == 'payload' then
    local src = ex.values[step.lstep]
    local n = src and src.vals and src.vals[step.lpath] or 0
    if st.data:len() < n then error(NEED, 0) end
    if fds_within(st, n) > 0 then fail(step.name .. ": unexpected fd(s) with its bytes") end
    local raw, offset = take(st, n)
    events[#events + 1] = {sock = sock, dir = step.dir, step = step.name, exchange = ex.label,
                           raw = raw, offset = offset, fds = 0}
    return true
  elseif step.k == 'fd' then
    if st.data:len() < 1 then error(NEED, 0) end
    local raw, offset, fds = take(st, 1)
    if fds ~= step.count then
      fail(step.name .. ": expected " .. step.count .. " fd(s) with the dummy byte, got " .. fds)
    end
    events[#events + 1] = {sock = sock, dir = step.dir, step = step.name, exchange = ex.label,
                           raw = raw, offset = offset, fds = fds}
    return true
  elseif step.k == 'list' then
    local marker = ByteArray.new(step.marker)
    if st.data:len() < marker:len() then error(NEED, 0) end
    if st.data:subset(0, marker:len()) == marker then
      decode_message(sock, step.last, abi, events, ex.label)
      return true
    end
    local needed = 0
    for _, sub in ipairs(step.stream) do
      needed = needed + (sub.k == 'fd' and 1 or S[sub.specs[abi]].size)
    end
    if st.data:len() < needed then error(NEED, 0) end
    for _, sub in ipairs(step.stream) do decode_step(sock, sub, ex, abi, events) end
    return false
  end
end

local function advance(sock, abi, events, dissect_values)
  while true do
    local ex = state.exch[sock]
    if ex == nil then
      local init = INIT[sock]
      local other = stream(sock, 1 - init.dir)
      if other.data:len() > 0 then
        fail(other.data:len() .. " unexpected bytes: no exchange is open on this socket")
      end
      if stream(sock, init.dir).data:len() == 0 then return end
      local ok, err = pcall(decode_message, sock, init, abi, events, "")
      if not ok then
        if err == NEED then return end
        error(err, 0)
      end
      local ev = events[#events]
      dissect_values(ev)
      local label = EXCHANGE_LABEL[sock]
      local steps = {}
      if sock == 0 then
        local cmd = ev.vals["cmd_type"]
        label = ev.cmd_name or tostring(cmd)
        steps = FOLLOW_COMMAND[abi][cmd] or {}
      elseif sock == 1 then
        steps = FOLLOW_METADATA
      end
      ev.exchange = label
      ex = {label = label, pending = {}, values = {}}
      for _, s in ipairs(steps) do ex.pending[#ex.pending + 1] = s end
      ex.values[init.name] = ev
      state.exch[sock] = ex
    elseif #ex.pending == 0 then
      state.exch[sock] = nil
    else
      local step = ex.pending[1]
      local values = {}
      for k, e in pairs(ex.values) do values[k] = e.vals end
      if not holds(step.when, values) then
        table.remove(ex.pending, 1)
      else
        local before = #events
        local ok, res = pcall(decode_step, sock, step, ex, abi, events)
        if not ok then
          if res == NEED then return end
          error(res, 0)
        end
        for i = before + 1, #events do dissect_values(events[i]) end
        if step.k == 'msg' then ex.values[step.name] = events[#events] end
        if res then table.remove(ex.pending, 1) end
      end
    end
  end
end

-- Values of an event (no tree): drive the table's conditions and lengths.
local function event_values(ev)
  if ev.struct == nil or ev.vals ~= nil then return end
  local vals, problems = {}, {}
  local tvb = ev.raw:tvb("values")
  dissect_items(S[ev.struct].items, tvb, 0, nil, vals, problems)
  ev.vals = vals
  if ev.step == "command" and vals["cmd_type"] ~= nil then
    ev.cmd_name = E.lttng_consumer_command[vals["cmd_type"]]
  end
  if #problems > 0 then fail(S[ev.struct].name .. ": " .. problems[1]) end
end

function p_cap.init()
  reset()
end

function p_cap.dissector(tvb, pinfo, tree)
  pinfo.cols.protocol = "ustref"
  if tvb:len() < PSEUDO_HEADER_SIZE or tvb(0, 4):string() ~= PSEUDO_MAGIC then
    return 0
  end
  local sock = tvb(6, 1):uint()
  local dir = tvb(7, 1):uint()
  local abi = tvb(5, 1):uint()
  local fdn = tvb(10, 2):le_uint()
  local h = tree:add(p_cap, tvb(0, PSEUDO_HEADER_SIZE))
  h:add(fc.abi, tvb(5, 1))
  h:add(fc.socket, tvb(6, 1))
  h:add(fc.direction, tvb(7, 1))
  h:add_le(fc.connection, tvb(8, 2))
  h:add_le(fc.fd_count, tvb(10, 2))
  local data = tvb:len() > PSEUDO_HEADER_SIZE and tvb(PSEUDO_HEADER_SIZE):bytes() or ByteArray.new()
  local rec = frames[pinfo.number]
  if rec == nil then
    rec = {events = {}}
    frames[pinfo.number] = rec
    if state.broken[sock] then
      rec.error = state.broken[sock]
    else
      local st = stream(sock, dir)
      if fdn > 0 then
        local at = st.start + st.data:len() + math.max(data:len() - 1, 0)
        st.fds[at] = (st.fds[at] or 0) + fdn
      end
      if data:len() > 0 then st.data:append(data) end
      local ok, err = pcall(advance, sock, abi, rec.events, event_values)
      if not ok then
        local msg = type(err) == "table" and err.ustref or tostring(err)
        rec.error = SOCKET_NAMES[sock] .. ": " .. msg
        state.broken[sock] = rec.error
      end
    end
  end
  local names = {}
  for _, ev in ipairs(rec.events) do
    local label = ev.struct and S[ev.struct].name or ev.step
    names[#names + 1] = (ev.step == "command" and ev.exchange) or label
    local etvb = ev.raw:tvb(label)
    local sub
    if ev.struct then
      sub = dissect_struct(ev.struct, etvb, tree, label)
    else
      sub = tree:add(p_consumer, etvb(), label)
      if ev.raw:len() > 0 then sub:add(fm.payload, etvb()) end
    end
    sub:add(fm.message, label):set_generated()
    sub:add(fm.step, ev.step):set_generated()
    sub:add(fm.exchange, ev.exchange or ""):set_generated()
    sub:add(fm.fds, ev.fds):set_generated()
  end
  if rec.error then
    tree:add_proto_expert_info(ex_malformed, rec.error)
  end
  pinfo.cols.info = SOCKET_NAMES[sock] .. (dir == 0 and " S->C " or " C->S ") ..
    (#names > 0 and table.concat(names, ", ") or "(partial)")
  return tvb:len()
end

-- ------------------------------------------------------------------ relayd, viewer (TCP)

local p_relayd_data = Proto("lttcomm.relayd.data", "LTTng relay daemon data socket")

-- Replies carry no header: each is read as the reply of the oldest unanswered
-- command of its TCP conversation (queued on the first pass, in frame order).
local pending, reply_len, reply_at = {}, {}, {}
local function reset_tcp() pending, reply_len, reply_at = {}, {}, {} end

local function header_value(hs, tvb, offset, path)
  for _, it in ipairs(hs.items) do
    if it.t == 'int' and it.v == path then
      local _, v = read_int(tvb, it, offset)
      return v
    end
  end
end

-- Commands (client to server): a header, then `data_size` bytes of payload, read
-- as the command's payload struct where the sequence tables name one.
local function command_dissector(proto, hdr_index, cmds, ex, payload_field)
  local hs = S[hdr_index]
  local function get_len(tvb, pinfo, offset)
    local ok, n = pcall(header_value, hs, tvb, offset, "data_size")
    if not ok or n == nil then return tvb:len() - offset end
    return hs.size + n
  end
  local function dissect_pdu(tvb, pinfo, tree)
    pinfo.cols.protocol = proto.name
    local sub = tree:add(proto, tvb(), hs.name)
    local vals, problems = {}, {}
    dissect_items(hs.items, tvb, 0, sub, vals, problems)
    local n = vals["data_size"] or 0
    if tvb:len() - hs.size ~= n then
      problems[#problems + 1] = "payload of " .. (tvb:len() - hs.size) .. " bytes, header says " .. n
    end
    local entry = cmds and vals["cmd"] and cmds[vals["cmd"]]
    local name = nil
    for _, it in ipairs(hs.items) do
      if it.v == "cmd" and it.enum then name = it.enum[vals["cmd"]] end
    end
    pinfo.cols.info:append(" " .. (name or (cmds and "command" or "data")))
    local size = tvb:len() - hs.size
    if entry and entry.payload then
      local ps = S[entry.payload]
      if size < ps.size then
        problems[#problems + 1] = ps.name .. ": truncated"
      else
        local want = message_length(entry.payload, tvb(hs.size, ps.size):bytes())
        if want ~= nil and want ~= size then
          problems[#problems + 1] = ps.name .. ": " .. want .. " bytes by its struct, " ..
            size .. " in the message"
        end
        local psub = sub:add(tvb(hs.size), ps.name)
        dissect_items(ps.items, tvb(hs.size):tvb(), 0, psub, {}, problems)
      end
    elseif size > 0 then
      sub:add(payload_field, tvb(hs.size))
      if cmds then
        problems[#problems + 1] = "a payload of " .. size .. " bytes: no struct known for " ..
          (name or "this command")
      end
    end
    if cmds and not pinfo.visited then
      local key = tostring(pinfo.src) .. ":" .. pinfo.src_port
      pending[key] = pending[key] or {}
      if entry and entry.reply then table.insert(pending[key], entry.reply) end
    end
    for _, p in ipairs(problems) do sub:add_proto_expert_info(ex, p) end
    return tvb:len()
  end
  return function(tvb, pinfo, tree)
    if tvb:len() < hs.size then
      pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
      return
    end
    local ok, err = pcall(dissect_tcp_pdus, tvb, tree, hs.size, get_len, dissect_pdu)
    if not ok then tree:add_proto_expert_info(ex, tostring(err)) end
    return tvb:len()
  end
end

local function reply_dissector(proto, ex, payload_field)
  local count
  local function awaited(pinfo)
    local q = pending[tostring(pinfo.dst) .. ":" .. pinfo.dst_port]
    return q and q[1]
  end
  local function get_len(tvb, pinfo, offset)
    local key = pinfo.number .. ":" .. offset
    if reply_len[key] then return reply_len[key] end
    local index = awaited(pinfo)
    local n = tvb:len() - offset
    if index then
      local s = S[index]
      if tvb:len() - offset < s.size then return s.size end
      n = message_length(index, tvb(offset, s.size):bytes()) or n
    end
    if not pinfo.visited then reply_len[key] = n end
    return n
  end
  local function dissect_pdu(tvb, pinfo, tree)
    pinfo.cols.protocol = proto.name
    count = count + 1
    local key = pinfo.number .. ":" .. count
    local index = reply_at[key]
    if index == nil and not pinfo.visited then
      local q = pending[tostring(pinfo.dst) .. ":" .. pinfo.dst_port]
      index = q and table.remove(q, 1) or false
      reply_at[key] = index
    end
    if not index then
      local sub = tree:add(proto, tvb(), "reply to no known command")
      sub:add(payload_field, tvb())
      sub:add_proto_expert_info(ex, tvb:len() .. " bytes from the server: no command awaits a reply")
      return tvb:len()
    end
    local s = S[index]
    pinfo.cols.info:append(" " .. s.name)
    local sub = tree:add(proto, tvb(), s.name)
    local problems = {}
    if tvb:len() < s.size then
      problems[#problems + 1] = s.name .. ": truncated"
    else
      dissect_items(s.items, tvb, 0, sub, {}, problems)
    end
    for _, p in ipairs(problems) do sub:add_proto_expert_info(ex, p) end
    return tvb:len()
  end
  return function(tvb, pinfo, tree)
    count = 0
    local ok, err = pcall(dissect_tcp_pdus, tvb, tree, 1, get_len, dissect_pdu)
    if not ok then tree:add_proto_expert_info(ex, tostring(err)) end
    return tvb:len()
  end
end

local ex_viewer = ProtoExpert.new("lttng.viewer.malformed", "Malformed message",
  expert.group.MALFORMED, expert.severity.ERROR)
p_viewer.experts = {ex_viewer}
p_relayd.prefs.control_port = Pref.uint("Control port", RELAYD_PORTS[1], "relay daemon control port")
p_relayd.prefs.data_port = Pref.uint("Data port", RELAYD_PORTS[2], "relay daemon data port")
p_viewer.prefs.port = Pref.uint("Live port", VIEWER_PORT, "relay daemon live viewer port")

local relayd_control = command_dissector(p_relayd, RELAYD_HDR, RELAYD_CMDS, ex_relayd,
  fm.relayd_payload)
local relayd_data = command_dissector(p_relayd_data, RELAYD_DATA_HDR, nil, ex_relayd,
  fm.relayd_payload)
local viewer_cmds = command_dissector(p_viewer, VIEWER_HDR, VIEWER_CMDS, ex_viewer,
  fm.viewer_payload)
local relayd_reply = reply_dissector(p_relayd, ex_relayd, fm.relayd_payload)
local viewer_reply = reply_dissector(p_viewer, ex_viewer, fm.viewer_payload)
function p_relayd.init() reset_tcp() end

function p_relayd.dissector(tvb, pinfo, tree)
  if pinfo.dst_port == p_relayd.prefs.data_port then return relayd_data(tvb, pinfo, tree) end
  if pinfo.dst_port == p_relayd.prefs.control_port then return relayd_control(tvb, pinfo, tree) end
  return relayd_reply(tvb, pinfo, tree)
end
function p_viewer.dissector(tvb, pinfo, tree)
  if pinfo.dst_port == p_viewer.prefs.port then return viewer_cmds(tvb, pinfo, tree) end
  return viewer_reply(tvb, pinfo, tree)
end

local tcp = DissectorTable.get("tcp.port")
local registered = {}
local function register_ports()
  for _, port in ipairs(registered) do tcp:remove(port[1], port[2]) end
  registered = {
    {p_relayd.prefs.control_port, p_relayd}, {p_relayd.prefs.data_port, p_relayd},
    {p_viewer.prefs.port, p_viewer},
  }
  for _, port in ipairs(registered) do tcp:add(port[1], port[2]) end
end
p_relayd.prefs_changed = register_ports
p_viewer.prefs_changed = register_ports
register_ports()
DissectorTable.get("wtap_encap"):add(wtap.USER0, p_cap)
