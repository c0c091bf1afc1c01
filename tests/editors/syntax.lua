-- Highlights .vg files with editors/vim (its ftdetect chooses the filetype,
-- its syntax file colours) and checks every byte of every token against
-- an independent reading of the lexical rules of docs/language.md:
-- comments, strings and numbers get their groups (linked to Comment,
-- String, Number), each keyword of the lexer (grammar/lexer.re's list) the
-- group of its kind, and no other name a keyword's group. Run by tests/editors/run.sh with FILES (space-separated) and
-- ROOT (the checkout) in the environment; prints one line per file and
-- "N passed, N failed"; quits with an error status on a failure.
local root = os.getenv('ROOT')
vim.opt.runtimepath:prepend(root .. '/editors/vim')
vim.cmd('filetype on')
vim.cmd('syntax on')

-- the lexer's keywords, from its source
local lexer = assert(io.open(root .. '/grammar/lexer.re')):read('*a')
local list = lexer:match('lex_keywords%[%] = {(.-)};')
local keywords = {}
for k in list:gmatch('"(%w+)"') do keywords[k] = true end

local group_of = {
  import = 'Include', model = 'Structure', def = 'Structure', settings = 'Structure',
  ['for'] = 'Repeat', ['in'] = 'Repeat', ['if'] = 'Conditional', ['else'] = 'Conditional',
  ['true'] = 'Boolean', ['false'] = 'Boolean',
  ['and'] = 'Operator', ['or'] = 'Operator', ['not'] = 'Operator', ['then'] = 'Operator',
}
local keyword_groups = { vgInclude = 1, vgStructure = 1, vgStatement = 1, vgRepeat = 1,
                         vgConditional = 1, vgBoolean = 1, vgOperator = 1 }
local nkeywords = 0
for k in pairs(keywords) do
  group_of[k] = group_of[k] or 'Statement'
  nkeywords = nkeywords + 1
end

-- the syntax group at a 1-based line and byte column
local function group(l, c)
  return vim.fn.synIDattr(vim.fn.synID(l, c, 0), 'name')
end

-- The tokens of one line: {kind, first, last, text} with 1-based columns.
local function tokens(line)
  local out, i, n = {}, 1, #line
  local function prev_word(j) return j > 1 and line:sub(j - 1, j - 1):match('[%w_.]') end
  while i <= n do
    local c = line:sub(i, i)
    if c == '#' then
      out[#out + 1] = { 'comment', i, n }
      break
    elseif c == '"' then
      local j = i + 1
      while j <= n and line:sub(j, j) ~= '"' do
        j = j + (line:sub(j, j) == '\\' and 2 or 1)
      end
      out[#out + 1] = { 'string', i, math.min(j, n) }
      i = j + 1
    elseif c:match('%d') or (c == '.' and line:sub(i + 1, i + 1):match('%d') and not prev_word(i)) then
      local s, e = line:find('^%d+%.%d+', i)
      if not s then s, e = line:find('^%d*%.?%d+', i) end
      local es, ee = line:find('^[eE][-+]?%d+', e + 1)
      if es then e = ee end
      out[#out + 1] = { 'number', i, e }
      i = e + 1
    elseif c:match('[%a_]') then
      local s, e = line:find('^[%w_]+', i)
      local word = line:sub(s, e)
      out[#out + 1] = { keywords[word] and 'keyword' or 'name', s, e, word }
      i = e + 1
    else
      i = i + 1
    end
  end
  return out
end

local pass, fail = 0, 0
for file in os.getenv('FILES'):gmatch('%S+') do
  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local problems, counts = {}, { comment = 0, string = 0, number = 0, keyword = 0, name = 0 }
  if vim.bo.filetype ~= 'vg' then problems[1] = 'filetype is "' .. vim.bo.filetype .. '"' end
  for l, line in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do
    for _, t in ipairs(tokens(line)) do
      local kind, first, last, word = t[1], t[2], t[3], t[4]
      counts[kind] = counts[kind] + 1
      for c = first, last do
        local g = group(l, c)
        local ok
        if kind == 'name' then
          ok = not keyword_groups[g]
        elseif kind == 'keyword' then
          ok = g == 'vg' .. group_of[word]
        elseif kind == 'comment' then
          ok = g == 'vgComment' or g == 'vgTodo'
        elseif kind == 'string' then
          ok = g == 'vgString' or g == 'vgEscape'
        else
          ok = g == 'vgNumber'
        end
        if not ok and #problems < 5 then
          problems[#problems + 1] = ('%s:%d:%d: %s %q is highlighted as %q'):format(
            file, l, c, kind, line:sub(first, last), g)
        end
      end
    end
  end
  -- an example without one of them would test nothing of that kind
  if counts.comment + counts.string + counts.number + counts.keyword == 0 then
    problems[#problems + 1] = file .. ': no token checked'
  end
  if #problems == 0 then
    pass = pass + 1
    print(('%s: ok (%d keywords, %d numbers, %d strings, %d comments, %d names)'):format(
      file, counts.keyword, counts.number, counts.string, counts.comment, counts.name))
  else
    fail = fail + 1
    print(table.concat(problems, '\n'))
  end
end
-- each group of the syntax file is linked to the standard group of its kind,
-- which colour schemes colour
vim.cmd('edit ' .. vim.fn.fnameescape(root .. '/examples/deep_sigmoid.vg'))
local links = { vgComment = 'Comment', vgString = 'String', vgNumber = 'Number' }
for _, g in pairs(group_of) do links['vg' .. g] = g end
for g, std in pairs(links) do
  if not vim.fn.execute('highlight ' .. g):find('links to ' .. std, 1, true) then
    print(g .. ' is not linked to ' .. std)
    fail = fail + 1
  end
end
if nkeywords < 20 then
  print('only ' .. nkeywords .. ' keywords read from grammar/lexer.re')
  fail = fail + 1
end
print(('syntax: %d passed, %d failed'):format(pass, fail))
vim.cmd(fail == 0 and 'qall!' or 'cquit 1')
