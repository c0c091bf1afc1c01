-- Neovim's own LSP client against `vg lsp` (run by tests/editors/run.sh):
-- a file with an error gets its diagnostic at the right range (UTF-16
-- positions turned into bytes by the client), a name completes, a
-- definition is found, and a badly laid-out file is formatted as `vg fmt`
-- formats it. Every wait has a timeout; the first failure quits with an
-- error exit, so the test cannot hang or pass by accident.
local vg = os.getenv('VG')
local dir = os.getenv('WORK')
local timeout = 10000

local function fail(msg)
  io.stderr:write('lsp.lua: ' .. msg .. '\n')
  vim.cmd('cquit 1')
end

local function expect(cond, msg)
  if not cond then fail(msg) end
end

local function write(path, lines)
  local f = assert(io.open(path, 'w'))
  f:write(table.concat(lines, '\n') .. '\n')
  f:close()
end

local function open(path)
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
  return vim.api.nvim_get_current_buf()
end

local exit_code, exit_signal
local client_id = vim.lsp.start_client({
  name = 'vg',
  cmd = { vg, 'lsp' },
  root_dir = dir,
  on_exit = function(code, signal) exit_code, exit_signal = code, signal end,
})
expect(client_id, 'vim.lsp.start_client failed')

-- 1. a diagnostic: units given a string of two emoji, 4 bytes and 2 UTF-16
-- units each, so a server counting bytes would end the range elsewhere
local bad = dir .. '/bad.vg'
write(bad, {
  'model m() {',
  '    input x[2]',
  '    layer out { y = dense(x, units = "😀😀") }',
  '    return y',
  '}',
})
local buf = open(bad)
vim.lsp.buf_attach_client(buf, client_id)
local got = vim.wait(timeout, function() return #vim.diagnostic.get(buf) > 0 end, 20)
expect(got, 'no diagnostic arrived for bad.vg')
local d = vim.diagnostic.get(buf)[1]
local line = vim.api.nvim_buf_get_lines(buf, 2, 3, false)[1]
local s = line:find('"', 1, true) - 1   -- 0-based byte column of the string
expect(d.lnum == 2 and d.end_lnum == 2, 'diagnostic on line ' .. d.lnum .. ', wanted 2')
expect(d.col == s and d.end_col == s + 10,
  ('diagnostic at bytes %d-%d, wanted %d-%d'):format(d.col, d.end_col, s, s + 10))
expect(d.severity == vim.diagnostic.severity.ERROR, 'severity ' .. tostring(d.severity))
expect(d.message == "dense: argument 'units' must be an integer, got a string",
  'message: ' .. d.message)

-- the fix, sent as a change, clears it
vim.api.nvim_buf_set_lines(buf, 2, 3, false, { '    layer out { y = dense(x, units = 2) }' })
got = vim.wait(timeout, function() return #vim.diagnostic.get(buf) == 0 end, 20)
expect(got, 'the diagnostic stayed after the fix')

-- 2. completion of a name: "den" inside the layer completes to dense,
-- and inside dense( the keyword arguments are offered
vim.api.nvim_buf_set_lines(buf, 2, 3, false, { '    layer out { y = den' })
vim.api.nvim_win_set_cursor(0, { 3, #'    layer out { y = den' })
local function complete()
  local res = vim.lsp.buf_request_sync(buf, 'textDocument/completion',
    vim.lsp.util.make_position_params(), timeout)
  expect(res and res[client_id] and res[client_id].result, 'no completion answer')
  local labels = {}
  for _, item in ipairs(res[client_id].result.items) do labels[item.label] = item end
  return labels
end
local labels = complete()
expect(labels.dense, 'dense is not among the completions of "den"')
expect(not labels.sigmoid, 'sigmoid completes "den"')
-- accept it as a user would: the label replaces the word
vim.api.nvim_buf_set_lines(buf, 2, 3, false, { '    layer out { y = dense(x, ' })
vim.api.nvim_win_set_cursor(0, { 3, #'    layer out { y = dense(x, ' })
labels = complete()
expect(labels.units and labels.units.insertText == 'units = ', 'units is not offered in dense(')

-- 3. go to definition of a model, from a train item
local def = dir .. '/def.vg'
write(def, {
  'model mlp(width = 4) {',
  '    input x[2]',
  '    layer out { y = dense(x, width) }',
  '    return y',
  '}',
})
buf = open(def)
vim.lsp.buf_attach_client(buf, client_id)
vim.api.nvim_buf_set_lines(buf, -1, -1, false, { 'let w = mlp' })
vim.api.nvim_win_set_cursor(0, { 6, 9 })
local res = vim.lsp.buf_request_sync(buf, 'textDocument/definition',
  vim.lsp.util.make_position_params(), timeout)
local loc = res and res[client_id] and res[client_id].result
expect(loc and loc.range and loc.range.start.line == 0, 'definition of mlp not at line 0')

-- 4. formatting: the buffer becomes what `vg fmt` prints
local ugly = dir .. '/ugly.vg'
write(ugly, {
  '# a comment is kept',
  'model   m( ) {input x[2]',
  '  layer out {y=dense(x,2)}   # and this one',
  '      return y }',
})
buf = open(ugly)
vim.lsp.buf_attach_client(buf, client_id)
vim.wait(timeout, function() return vim.lsp.buf_is_attached(buf, client_id) end, 20)
vim.lsp.buf.formatting_sync(nil, timeout)
local want = vim.fn.systemlist({ vg, 'fmt', ugly })
expect(vim.v.shell_error == 0, 'vg fmt failed on ugly.vg')
local have = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
expect(vim.deep_equal(have, want), 'formatted buffer differs from vg fmt:\n' ..
  table.concat(have, '\n') .. '\n--- wanted:\n' .. table.concat(want, '\n'))
expect(#want > 4 and want[1] == '# a comment is kept', 'vg fmt output looks wrong')

-- the server shuts down cleanly when asked: the client sends shutdown, then
-- exit
local client = vim.lsp.get_client_by_id(client_id)
client.stop()
got = vim.wait(timeout, function() return exit_code ~= nil end, 20)
expect(got, 'vg lsp did not stop')
-- shutdown, then exit: status 0 (and no leak report under ASan)
expect(exit_code == 0 and exit_signal == 0,
  ('vg lsp exited with status %s, signal %s'):format(exit_code, exit_signal))
print('lsp.lua: ok')
vim.cmd('qall!')
