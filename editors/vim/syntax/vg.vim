" Vim/Neovim syntax for vg programs (docs/language.md's lexical rules).
" The keywords are the lexer's (grammar/lexer.re); tests/editors/syntax.lua
" highlights every example and checks each token's group.
if exists('b:current_syntax')
  finish
endif

syn keyword vgInclude     import
syn keyword vgStructure   model def settings
syn keyword vgStatement   train with input layer return expect let
syn keyword vgRepeat      for in
syn keyword vgConditional if else
syn keyword vgBoolean     true false
syn keyword vgOperator    and or not then

" Numbers as the lexer reads them, digits ("." digits)? | "." digits, then
" an exponent: 12, 0.5, .5, 1e-3, 2E+3; 1..3 is two numbers; fc1 is a name.
syn match vgNumber '\<\d\+\%(\.\d\+\)\=\%([eE][-+]\=\d\+\)\=\>'
syn match vgNumber '\%(\w\|\.\)\@1<!\.\d\+\%([eE][-+]\=\d\+\)\=\>'

" A string ends on its line; \" \\ \n are its escapes.
syn region vgString start=+"+ skip=+\\\\\|\\"+ end=+"+ end=+$+ oneline contains=vgEscape
syn match vgEscape contained +\\[\\"n]+

syn keyword vgTodo contained TODO FIXME XXX NOTE
syn match vgComment '#.*$' contains=vgTodo,@Spell

" A name being defined: model NAME, def NAME, settings NAME, let NAME, train NAME.
syn match vgDefined '\%(\<\%(model\|def\|settings\|let\|train\)\s\+\)\@<=\h\w*'

hi def link vgInclude     Include
hi def link vgStructure   Structure
hi def link vgStatement   Statement
hi def link vgRepeat      Repeat
hi def link vgConditional Conditional
hi def link vgBoolean     Boolean
hi def link vgOperator    Operator
hi def link vgNumber      Number
hi def link vgString      String
hi def link vgEscape      SpecialChar
hi def link vgComment     Comment
hi def link vgTodo        Todo
hi def link vgDefined     Function

let b:current_syntax = 'vg'
