// @ts-check
/** Keyboard shortcuts as data: which key runs which action, and for whom. */

/**
 * @typedef {object} Binding
 * @property {string[]} keys `KeyboardEvent.key` values; single characters match either case
 * @property {boolean} [ctrl] needs Ctrl (or Cmd on a Mac); without it, Ctrl must be up
 * @property {boolean} [shift] when given, Shift must be in this state
 * @property {boolean} [edits] changes the mask: not for read-only users
 * @property {(e: KeyboardEvent) => void} run
 */

/** Keys typed into a text field belong to the field, not to the shortcuts. @param {EventTarget | null} target */
export function isTyping(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable) return true;
  return target instanceof HTMLInputElement && !["range", "checkbox", "color", "button"].includes(target.type);
}

/**
 * @param {Binding[]} bindings first match wins
 * @param {boolean} readOnly
 * @returns {(e: KeyboardEvent) => void} a keydown listener
 */
export function shortcutHandler(bindings, readOnly) {
  return (e) => {
    if (isTyping(e.target) && e.key !== "Escape") return;
    const ctrl = e.ctrlKey || e.metaKey;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    const binding = bindings.find((b) => b.keys.includes(key) && !!b.ctrl === ctrl
      && (b.shift === undefined || b.shift === e.shiftKey) && !(readOnly && b.edits));
    if (!binding) return;
    e.preventDefault();
    binding.run(e);
  };
}
