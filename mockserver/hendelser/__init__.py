"""What Skatteetaten's event feeds (hendelseslister) share: the FA error codes, sequence numbers with gaps,
paging from a sequence number, the start number of a day, and the routes. Each feed's own room says which
events its world holds (skatteoppgjoerhendelser/, inntekthendelser/)."""
