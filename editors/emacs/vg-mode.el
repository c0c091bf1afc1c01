;;; vg-mode.el --- Major mode for vg programs  -*- lexical-binding: t -*-

;; A major mode for .vg files, the neural-network language of vg: syntax
;; highlighting, '#' comments, indentation by braces (four spaces, the
;; layout of `vg fmt'), and `vg lsp' as the language server for eglot
;; (diagnostics as you type, completion, hover, go to definition,
;; formatting).  See docs/editors.md.
;;
;; Installed by `make install' into site-lisp; then in your init file:
;;   (require 'vg-mode)
;;   (add-hook 'vg-mode-hook #'eglot-ensure)   ; optional: start vg lsp

;;; Code:

(defgroup vg nil
  "Editing vg programs."
  :group 'languages)

(defcustom vg-indent-offset 4
  "Indentation of a block's contents, as `vg fmt' lays them out."
  :type 'integer
  :group 'vg)

;; The lexer's keywords (grammar/lexer.re).
(defconst vg-keywords
  '("import" "model" "def" "settings" "train" "with" "input" "layer"
    "for" "in" "if" "else" "return" "expect" "let" "true" "false"
    "and" "or" "not" "then"))

(defconst vg-font-lock-keywords
  `((,(regexp-opt '("true" "false") 'symbols) . font-lock-constant-face)
    (,(regexp-opt vg-keywords 'symbols) . font-lock-keyword-face)
    ("\\_<\\(?:model\\|def\\|settings\\|let\\|train\\)\\s-+\\([A-Za-z_][A-Za-z0-9_]*\\)"
     1 font-lock-function-name-face)
    ("\\(?:\\_<[0-9]+\\(?:\\.[0-9]+\\)?\\|\\(?:^\\|[^A-Za-z0-9_.]\\)\\.[0-9]+\\)\\(?:[eE][-+]?[0-9]+\\)?"
     . font-lock-constant-face))
  "What `vg-mode' highlights beyond comments and strings.")

(defvar vg-mode-syntax-table
  (let ((table (make-syntax-table)))
    (modify-syntax-entry ?# "<" table)
    (modify-syntax-entry ?\n ">" table)
    (modify-syntax-entry ?\" "\"" table)
    (modify-syntax-entry ?\\ "\\" table)
    (modify-syntax-entry ?_ "_" table)
    (dolist (c '(?+ ?- ?* ?/ ?^ ?< ?> ?= ?.))
      (modify-syntax-entry c "." table))
    table)
  "Syntax table of `vg-mode': '#' to the end of the line is a comment.")

(defun vg-indent-line ()
  "Indent the current line by the depth of the brackets around it."
  (interactive)
  (let* ((depth (save-excursion (car (syntax-ppss (line-beginning-position)))))
         (closing (save-excursion
                    (back-to-indentation)
                    (looking-at-p "[]})]")))
         (column (* vg-indent-offset (max 0 (if closing (1- depth) depth)))))
    (if (<= (current-column) (current-indentation))
        (indent-line-to column)
      (save-excursion (indent-line-to column)))))

;;;###autoload
(define-derived-mode vg-mode prog-mode "vg"
  "Major mode for vg programs."
  :syntax-table vg-mode-syntax-table
  (setq-local comment-start "# ")
  (setq-local comment-start-skip "#+\\s-*")
  (setq-local font-lock-defaults '(vg-font-lock-keywords))
  (setq-local indent-line-function #'vg-indent-line)
  (setq-local indent-tabs-mode nil))

;;;###autoload
(add-to-list 'auto-mode-alist '("\\.vg\\'" . vg-mode))

;; eglot starts `vg lsp' for vg buffers (M-x eglot, or eglot-ensure).
(with-eval-after-load 'eglot
  (add-to-list 'eglot-server-programs '(vg-mode "vg" "lsp")))

(provide 'vg-mode)
;;; vg-mode.el ends here
