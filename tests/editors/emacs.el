;;; emacs.el --- editors/emacs/vg-mode.el in Emacs  -*- lexical-binding: t -*-

;; Run by tests/editors/run.sh:
;;   emacs --batch -L editors/emacs -l tests/editors/emacs.el FILE...
;; with VG (the vg binary) and WORK (a scratch folder) in the environment.
;; For each FILE: `.vg' opens in vg-mode; every byte of every comment,
;; string, number and keyword (read independently of the mode, by the
;; lexical rules of docs/language.md and the lexer's keyword list) has its
;; face; re-indenting a formatted file's lines that are not continuations
;; changes nothing.  Then eglot, through the mode's registration, starts
;; `vg lsp': a file with an error gets its diagnostic at the right place,
;; "den" completes to dense, and eglot-format-buffer gives `vg fmt''s text.
;; Prints "emacs: N passed, N failed"; exits 1 on a failure.

(require 'vg-mode)
(require 'eglot)

(defvar vg-test-pass 0)
(defvar vg-test-fail 0)
(defvar vg-test-root default-directory)

(defun vg-test-report (ok what)
  (if ok
      (setq vg-test-pass (1+ vg-test-pass))
    (setq vg-test-fail (1+ vg-test-fail))
    (message "emacs: FAIL: %s" what)))

(defun vg-test-keywords ()
  "The lexer's keywords, read from grammar/lexer.re."
  (with-temp-buffer
    (insert-file-contents (expand-file-name "grammar/lexer.re" vg-test-root))
    (re-search-forward "lex_keywords\\[\\] = {\\([^}]*\\)}")
    (let ((list (match-string 1)) (out nil) (start 0))
      (while (string-match "\"\\([a-z]+\\)\"" list start)
        (push (match-string 1 list) out)
        (setq start (match-end 0)))
      out)))

(defun vg-test-face-ok (kind word face)
  (let ((faces (if (listp face) face (list face))))
    (pcase kind
      ('comment (or (memq 'font-lock-comment-face faces)
                    (memq 'font-lock-comment-delimiter-face faces)))
      ('string (memq 'font-lock-string-face faces))
      ('number (memq 'font-lock-constant-face faces))
      ('keyword (memq (if (member word '("true" "false"))
                          'font-lock-constant-face
                        'font-lock-keyword-face)
                      faces))
      (_ (not (or (memq 'font-lock-keyword-face faces)
                  (memq 'font-lock-constant-face faces)))))))

(defun vg-test-tokens (keywords)
  "The tokens of the current line: (KIND BEG END WORD)."
  (let ((tokens nil) (eol (line-end-position)))
    (save-excursion
      (beginning-of-line)
      (while (< (point) eol)
        (let ((c (char-after)) (beg (point)))
          (cond
           ((eq c ?#) (push (list 'comment beg eol nil) tokens) (goto-char eol))
           ((eq c ?\")
            (forward-char)
            (while (and (< (point) eol) (not (eq (char-after) ?\")))
              (forward-char (if (eq (char-after) ?\\) 2 1)))
            (goto-char (min eol (1+ (point))))
            (push (list 'string beg (point) nil) tokens))
           ((or (looking-at "[0-9]")
                (and (looking-at "\\.[0-9]")
                     (not (and (> beg (line-beginning-position))
                               (string-match-p "[A-Za-z0-9_.]"
                                               (string (char-before)))))))
            (looking-at "\\(?:[0-9]+\\(?:\\.[0-9]+\\)?\\|\\.[0-9]+\\)\\(?:[eE][-+]?[0-9]+\\)?")
            (goto-char (match-end 0))
            (push (list 'number beg (point) nil) tokens))
           ((looking-at "[A-Za-z_][A-Za-z0-9_]*")
            (let ((word (match-string 0)))
              (goto-char (match-end 0))
              (push (list (if (member word keywords) 'keyword 'name) beg (point) word)
                    tokens)))
           (t (forward-char))))))
    (nreverse tokens)))

(defun vg-test-highlighting (file keywords)
  (let ((problems nil) (checked 0))
    (with-current-buffer (find-file-noselect file)
      (vg-test-report (eq major-mode 'vg-mode) (format "%s opens in %s" file major-mode))
      (font-lock-ensure)
      (goto-char (point-min))
      (while (not (eobp))
        (dolist (tok (vg-test-tokens keywords))
          (pcase-let ((`(,kind ,beg ,end ,word) tok))
            (unless (eq kind 'name) (setq checked (1+ checked)))
            (let ((pos beg))
              (while (< pos end)
                (let ((face (get-text-property pos 'face)))
                  (unless (or (vg-test-face-ok kind word face) (>= (length problems) 5))
                    (push (format "%s:%d: %s %S has the face %S" file (line-number-at-pos pos)
                                  kind (buffer-substring beg end) face)
                          problems)))
                (setq pos (1+ pos))))))
        (forward-line 1))
      (kill-buffer))
    (when (= checked 0) (push (format "%s: no token checked" file) problems))
    (vg-test-report (null problems) (mapconcat #'identity (nreverse problems) "\n"))))

(defun vg-test-indentation (file)
  "Re-indents the lines of FILE (formatted by vg fmt) that continue nothing."
  (let ((moved nil))
    (with-current-buffer (find-file-noselect file)
      (goto-char (point-min))
      (let ((continued nil))
        (while (not (eobp))
          (let* ((ppss (syntax-ppss (line-beginning-position)))
                 (open (nth 1 ppss))
                 (code (save-excursion
                         (back-to-indentation)
                         (not (or (eolp) (eq (char-after) ?#)))))
                 (operator (save-excursion
                             (back-to-indentation)
                             (looking-at "[-+*/^<>=]\\|\\(?:and\\|or\\|then\\)\\_>"))))
            (when (and code (not continued) (not operator)
                       (or (null open) (eq (char-after open) ?{)))
              (let ((before (current-indentation)))
                (vg-indent-line)
                (unless (or (= before (current-indentation)) moved)
                  (setq moved (format "%s:%d: indented to %d, vg fmt has %d" file
                                      (line-number-at-pos) (current-indentation) before)))))
            (when code
              (setq continued (save-excursion
                                (end-of-line)
                                (let ((s (nth 8 (syntax-ppss)))) (when s (goto-char s)))
                                (skip-chars-backward " \t")
                                (memq (char-before) '(?, ?\( ?\[ ?+ ?- ?* ?/ ?= ?< ?>))))))
          (forward-line 1)))
      (set-buffer-modified-p nil)
      (kill-buffer))
    (vg-test-report (null moved) moved)))

(defun vg-test-wait (pred)
  "Waits up to 10 s for PRED, processing the server's output."
  (let ((deadline (+ (float-time) 10)))
    (while (and (not (funcall pred)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (funcall pred)))

(defun vg-test-write (file text)
  (with-temp-file file (insert text)))

(defun vg-test-eglot ()
  (let* ((vg (getenv "VG"))
         (work (file-name-as-directory (getenv "WORK")))
         (bad (expand-file-name "bad.vg" work))
         (ugly (expand-file-name "ugly.vg" work))
         (exec-path (cons (file-name-directory vg) exec-path))
         (eglot-sync-connect t)
         (server nil))
    (vg-test-report (equal (cdr (assq 'vg-mode eglot-server-programs)) '("vg" "lsp"))
                    "vg-mode is not registered with eglot")
    ;; a diagnostic; the string of two characters outside the BMP is 4
    ;; characters for Emacs, 10 bytes, 6 UTF-16 units
    (vg-test-write bad (concat "model m() {\n    input x[2]\n"
                               "    layer out { y = dense(x, units = \"😀😀\") }\n"
                               "    return y\n}\n"))
    ;; shown in a window: Flymake checks only a buffer that is displayed
    (with-current-buffer (find-file bad)
      (apply #'eglot (eglot--guess-contact))
      (setq server (eglot-current-server))
      (vg-test-report (vg-test-wait #'flymake-diagnostics) "no diagnostic for bad.vg")
      (let* ((d (car (flymake-diagnostics)))
             (start (save-excursion (goto-char (point-min)) (search-forward "\"") (1- (point)))))
        (when d
          (vg-test-report (and (= (flymake-diagnostic-beg d) start)
                               (= (flymake-diagnostic-end d) (+ start 4)))
                          (format "diagnostic at %d-%d, wanted %d-%d"
                                  (flymake-diagnostic-beg d) (flymake-diagnostic-end d)
                                  start (+ start 4)))
          (vg-test-report (string-match-p
                           "dense: argument 'units' must be an integer, got a string"
                           (flymake-diagnostic-text d))
                          (format "message %S" (flymake-diagnostic-text d)))))
      ;; completion at "den"
      (goto-char (point-min))
      (forward-line 2)
      (delete-region (point) (line-end-position))
      (insert "    layer out { y = den")
      (let* ((capf (eglot-completion-at-point))
             (table (nth 2 capf))
             (all (and capf (all-completions "den" table))))
        (vg-test-report (member "dense" all) (format "completions of den: %S" all)))
      (set-buffer-modified-p nil))
    ;; formatting
    (vg-test-write ugly "# a comment is kept\nmodel   m( ) {input x[2]\n  layer out {y=dense(x,2)}   # and this one\n      return y }\n")
    (let ((want (with-temp-buffer
                  (call-process vg nil t nil "fmt" ugly)
                  (buffer-string))))
      (with-current-buffer (find-file ugly)
        (eglot-format-buffer)
        (vg-test-report (and (string-prefix-p "# a comment is kept\n" want)
                             (equal (buffer-string) want))
                        (format "formatted:\n%s\nwanted:\n%s" (buffer-string) want))
        (set-buffer-modified-p nil)))
    (when server (eglot-shutdown server))))

(let ((keywords (vg-test-keywords)))
  (vg-test-report (>= (length keywords) 20) "the keywords of grammar/lexer.re")
  (dolist (file command-line-args-left)
    (vg-test-highlighting file keywords)
    (vg-test-indentation file))
  (setq command-line-args-left nil))
(vg-test-eglot)
(message "emacs: %d passed, %d failed" vg-test-pass vg-test-fail)
(kill-emacs (if (= vg-test-fail 0) 0 1))
