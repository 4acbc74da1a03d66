// Package cardprint draws a resident's service card (carehex card.go) as a
// PNG image: the QR of the signed payload, and under it the short code to
// type when a phone's camera is unavailable and the resident's
// pseudonymous number. The text is drawn in a fixed ASCII bitmap font, so
// the image needs no font files; Chinese words go on the card's printed
// template (the console prints the image inside one).
package cardprint

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"

	"github.com/skip2/go-qrcode"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// QRSize is the QR's side in pixels on the card image.
const QRSize = 320

// textScale enlarges the 7×13 font so the short code reads at arm's length.
const textScale = 3

// PNG draws the card of payload with its short code and number.
func PNG(payload, shortCode, number string) ([]byte, error) {
	q, err := qrcode.New(payload, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	qr := q.Image(QRSize)
	lineH := 13 * textScale
	w, h := QRSize, QRSize+2*lineH+24
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(0, 0, QRSize, QRSize), qr, qr.Bounds().Min, draw.Src)
	for i, line := range []string{shortCode, number} {
		drawText(img, line, QRSize+8+i*(lineH+8))
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// drawText writes s centred at top y, textScale times the font's size.
func drawText(dst *image.RGBA, s string, y int) {
	face := basicfont.Face7x13
	small := image.NewRGBA(image.Rect(0, 0, 7*len(s), 13))
	draw.Draw(small, small.Bounds(), image.White, image.Point{}, draw.Src)
	d := font.Drawer{Dst: small, Src: image.NewUniform(color.Black), Face: face, Dot: fixed.P(0, 11)}
	d.DrawString(s)
	x0 := (dst.Bounds().Dx() - small.Bounds().Dx()*textScale) / 2
	for sy := 0; sy < 13; sy++ {
		for sx := 0; sx < small.Bounds().Dx(); sx++ {
			c := small.RGBAAt(sx, sy)
			for dy := 0; dy < textScale; dy++ {
				for dx := 0; dx < textScale; dx++ {
					dst.SetRGBA(x0+sx*textScale+dx, y+sy*textScale+dy, c)
				}
			}
		}
	}
}
