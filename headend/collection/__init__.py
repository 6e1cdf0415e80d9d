"""Collection (采集): tasks, re-collection (补采), on-demand reads (召测), inspections."""
