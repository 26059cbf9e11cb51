// What every page returns: its element, and what to stop (polling) when the user leaves it.
export interface PageView {
  el: HTMLElement
  dispose?: () => void
}
