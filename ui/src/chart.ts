// Events over time as an SVG line chart: one polyline per event type, a legend, and the numbers in a table for screen readers.
import { h, svg } from './dom.ts'
import type { Timeline, TimelinePoint } from './types.ts'

const SERIES: Array<{ key: keyof Omit<TimelinePoint, 'at'>, label: string }> = [
  { key: 'sent', label: 'Sent' },
  { key: 'delivered', label: 'Delivered' },
  { key: 'opened', label: 'Opened' },
  { key: 'clicked', label: 'Clicked' },
  { key: 'bounced', label: 'Bounced' },
  { key: 'complained', label: 'Complained' },
]

const WIDTH = 640
const HEIGHT = 220
const PAD = { top: 12, right: 12, bottom: 28, left: 40 }

function label (at: string, bucket: Timeline['bucket']): string {
  const date = new Date(at)
  return bucket === 'hour'
    ? date.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit' })
    : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
}

export function eventsChart (timeline: Timeline): HTMLElement {
  const points = timeline.series
  if (points.length === 0) return h('p', { class: 'muted empty' }, 'No events yet.')
  const max = Math.max(1, ...points.flatMap(p => SERIES.map(s => p[s.key])))
  const innerW = WIDTH - PAD.left - PAD.right
  const innerH = HEIGHT - PAD.top - PAD.bottom
  const x = (i: number) => PAD.left + (points.length === 1 ? innerW / 2 : (i / (points.length - 1)) * innerW)
  const y = (v: number) => PAD.top + innerH - (v / max) * innerH

  const grid = [0, 0.5, 1].map(f => {
    const value = Math.round(max * f)
    return svg('g', {},
      svg('line', { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value), class: 'grid' }),
      svg('text', { x: PAD.left - 6, y: y(value) + 4, 'text-anchor': 'end', class: 'axis' }, String(value)))
  })
  const ticks = [0, points.length - 1].filter((i, n, all) => all.indexOf(i) === n).map(i =>
    svg('text', { x: x(i), y: HEIGHT - 8, 'text-anchor': i === 0 && points.length > 1 ? 'start' : 'end', class: 'axis' },
      label((points[i] as TimelinePoint).at, timeline.bucket)))
  const lines = SERIES.map(s => {
    const coords = points.map((p, i) => `${x(i).toFixed(1)},${y(p[s.key]).toFixed(1)}`).join(' ')
    return points.length === 1
      ? svg('circle', { cx: x(0), cy: y((points[0] as TimelinePoint)[s.key]), r: 4, class: `line line-${s.key}` })
      : svg('polyline', { points: coords, class: `line line-${s.key}`, fill: 'none' })
  })
  const totals = SERIES.map(s => `${s.label} ${points.reduce((sum, p) => sum + p[s.key], 0)}`).join(', ')
  const chart = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': `Events per ${timeline.bucket}: ${totals}`, class: 'chart' },
    ...grid, ...ticks, ...lines)

  const legend = h('ul', { class: 'legend' }, SERIES.map(s => h('li', {}, h('span', { class: `swatch line-${s.key}`, 'aria-hidden': 'true' }), s.label)))
  const details = h('details', {},
    h('summary', {}, 'Show the numbers'),
    h('table', { class: 'stack' },
      h('caption', { class: 'visually-hidden' }, `Events per ${timeline.bucket}`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Time'), SERIES.map(s => h('th', { scope: 'col' }, s.label)))),
      h('tbody', {}, points.map(p => h('tr', {},
        h('td', { 'data-label': 'Time' }, label(p.at, timeline.bucket)),
        SERIES.map(s => h('td', { 'data-label': s.label }, p[s.key])))))))
  return h('figure', { class: 'chart-figure' }, chart, legend, details)
}
