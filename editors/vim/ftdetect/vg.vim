" Vim/Neovim filetype detection for vg programs (.vg).
autocmd BufNewFile,BufRead *.vg setfiletype vg
